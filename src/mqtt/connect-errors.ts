/** Why a connection to the broker failed or ended, as the `reason` label of the error counter. */
export type ConnectErrorReason = 'connect' | 'tls' | 'auth' | 'protocol' | 'refused' | 'timeout' | 'lost';
export const CONNECT_ERROR_REASONS: readonly ConnectErrorReason[] = ['connect', 'tls', 'auth', 'protocol', 'refused', 'timeout', 'lost'];

/** CONNACK codes: MQTT 3.1.1 return codes (1-5) and MQTT 5 reason codes (0x80 and up). */
const UNSUPPORTED_PROTOCOL = new Set([1, 0x84]);
const BAD_CREDENTIALS = new Set([4, 5, 0x86, 0x87, 0x8c]);

export interface ClassifiedError {
  reason: ConnectErrorReason;
  /** One sentence saying what is wrong and what to check. */
  message: string;
  /** The broker does not speak the protocol version that was tried. */
  unsupportedProtocol: boolean;
}

/** Turns an mqtt.js / Node error into a reason and a message a sysadmin can act on. */
export function classifyConnectError(err: Error & { code?: unknown }, url: string): ClassifiedError {
  const code = err.code;
  if (typeof code === 'number') {
    if (UNSUPPORTED_PROTOCOL.has(code)) {
      return { reason: 'protocol', message: `the broker at ${url} refused this MQTT protocol version`, unsupportedProtocol: true };
    }
    if (BAD_CREDENTIALS.has(code)) {
      return {
        reason: 'auth',
        message: `the broker at ${url} refused the credentials (${err.message}): check mqtt.username, mqtt.password_file and the broker's ACL`,
        unsupportedProtocol: false,
      };
    }
    return { reason: 'refused', message: `the broker at ${url} refused the connection: ${err.message}`, unsupportedProtocol: false };
  }
  const text = typeof code === 'string' ? code : '';
  const detail = err.message.trim();
  // TLS alerts sent by the broker: it did not accept this client's certificate (or got none).
  if (/alert (certificate required|bad certificate|unknown ca|certificate unknown|handshake failure)/i.test(detail)) {
    return {
      reason: 'tls',
      message: `the broker at ${url} did not accept a client certificate (${detail.split('\n')[0]}): set mqtt.tls.cert and mqtt.tls.key to a certificate signed by a CA the broker trusts`,
      unsupportedProtocol: false,
    };
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_OSSL/.test(text) || /certificate|tls|ssl/i.test(err.message)) {
    return {
      reason: 'tls',
      message: `TLS with the broker at ${url} failed (${detail}): check mqtt.tls.ca and that the broker's certificate names the host (or set mqtt.tls.server_name)`,
      unsupportedProtocol: false,
    };
  }
  if (/ETIMEDOUT|timeout/i.test(text) || /timeout/i.test(err.message)) {
    return { reason: 'timeout', message: `the broker at ${url} did not answer in time (${err.message})`, unsupportedProtocol: false };
  }
  return { reason: 'connect', message: `cannot reach the broker at ${url}: ${err.message}`, unsupportedProtocol: false };
}
