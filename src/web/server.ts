import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { BlockList, isIP } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { BasicAuth } from './basic-auth.js';
import type { WebConfig, WebTlsConfig } from './webconfig.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The agent's HTTP(S) server as exporter-toolkit would run it for this web config: plain HTTP
 * without `tls`, otherwise HTTPS (HTTP/1.1: `http2` is accepted in the file but not served).
 * Every response gets the configured headers; then client certificate rules, then basic auth,
 * then `handler`. Only the server object is created here: the caller calls listen().
 */
/**
 * node:https (and with it node:tls) is loaded only when a web config asks for TLS: most agents
 * serve plain HTTP on a private network, and the TLS stack costs them 1.4 MB of resident memory.
 */
const loadHttps = (): typeof https => createRequire(import.meta.url)('node:https') as typeof https;

const isTlsServer = (server: http.Server | https.Server): server is https.Server => 'setSecureContext' in server;

export function createWebServer(web: WebConfig | undefined, handler: RequestHandler): http.Server | https.Server {
  const listener = webListener(web, handler);
  return web?.tls ? loadHttps().createServer(httpsOptions(web.tls), listener) : http.createServer(listener);
}

/**
 * Applies a re-read web config to a listening server without closing its socket, so a SIGHUP
 * never refuses a scrape or moves a port. Returns false when that cannot be done (TLS switched
 * on or off): the caller then opens a new server.
 */
export function updateWebServer(server: http.Server | https.Server, web: WebConfig | undefined, handler: RequestHandler): boolean {
  const isTls = isTlsServer(server);
  if (isTls !== Boolean(web?.tls)) return false;
  if (web?.tls && isTlsServer(server)) {
    server.setSecureContext(httpsOptions(web.tls));
    // Per-connection settings tls.Server reads from itself, outside the secure context.
    Object.assign(server, { requestCert: web.tls.requestCert, rejectUnauthorized: web.tls.rejectUnauthorized });
  }
  server.removeAllListeners('request');
  server.on('request', webListener(web, handler));
  return true;
}

function webListener(web: WebConfig | undefined, handler: RequestHandler): RequestHandler {
  const headers = Object.entries(web?.headers ?? {});
  const auth = web && web.basicAuthUsers.size > 0 ? new BasicAuth(web.basicAuthUsers) : undefined;
  const refusal = web?.tls ? clientCertPolicy(web.tls) : undefined;

  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of headers) res.setHeader(name, value);
    const refused = refusal?.(req.socket as TLSSocket);
    if (refused) {
      reply(res, 403, `Forbidden: ${refused}`);
      return;
    }
    if (!auth) {
      handler(req, res);
      return;
    }
    // check() never rejects; if handler throws, the rejection is left unhandled on purpose, so it
    // fails as loudly as a throw on the synchronous path above.
    void auth.check(req.headers.authorization).then((ok) => {
      if (ok) handler(req, res);
      else reply(res, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="harbinger"' });
    });
  };
}

function httpsOptions(tls: WebTlsConfig): https.ServerOptions {
  const { key, cert, ca, requestCert, rejectUnauthorized, minVersion, maxVersion, ciphers, ecdhCurve, honorCipherOrder } = tls;
  const options: https.ServerOptions = { key, cert, requestCert, rejectUnauthorized };
  // Only what the file set: an explicit `undefined` would override Node's defaults for some keys.
  if (ca) options.ca = ca;
  if (minVersion) options.minVersion = minVersion;
  if (maxVersion) options.maxVersion = maxVersion;
  if (ciphers) options.ciphers = ciphers;
  if (ecdhCurve) options.ecdhCurve = ecdhCurve;
  if (honorCipherOrder !== undefined) options.honorCipherOrder = honorCipherOrder;
  return options;
}

/**
 * Node's requestCert/rejectUnauthorized express NoClientCert, RequestClientCert and
 * RequireAndVerifyClientCert; "require but do not verify", "verify only if given" and SAN checks
 * (done by Go at the handshake) are checked here, per request, from the TLS socket.
 * Returns why a request is refused, or undefined.
 */
function clientCertPolicy(tls: WebTlsConfig): (socket: TLSSocket) => string | undefined {
  const sanAllowed = tls.allowedSans ? sanMatcher(tls.allowedSans) : undefined;
  return (socket) => {
    if (tls.mode === 'NoClientCert' || tls.mode === 'RequestClientCert') return undefined;
    const cert = socket.getPeerCertificate();
    const given = cert !== null && Object.keys(cert).length > 0; // {} when the client sent none
    if (!given && tls.mode !== 'VerifyClientCertIfGiven') return 'a client certificate is required';
    if (given && tls.mode !== 'RequireAnyClientCert' && !socket.authorized) {
      return `the client certificate does not verify (${String(socket.authorizationError)})`;
    }
    if (given && sanAllowed && !sanAllowed(cert)) return 'the client certificate has none of the allowed SANs';
    return undefined;
  };
}

/**
 * Matches a certificate's DNS, email, URI and IP SANs against client_allowed_sans, like
 * exporter-toolkit (exact strings; IPs compared as addresses so `::1` matches `0:0:0:0:0:0:0:1`).
 */
function sanMatcher(allowed: readonly string[]): (cert: PeerCertificate) => boolean {
  const names = new Set(allowed.filter((s) => isIP(s) === 0));
  const ips = new BlockList();
  for (const s of allowed) {
    if (isIP(s) === 4) ips.addAddress(s, 'ipv4');
    if (isIP(s) === 6) ips.addAddress(s, 'ipv6');
  }
  return (cert) =>
    parseSubjectAltNames(cert.subjectaltname).some(({ type, value }) => {
      if (type !== 'IP Address') return ['DNS', 'email', 'URI'].includes(type) && names.has(value);
      const family = isIP(value);
      return family !== 0 && ips.check(value, family === 4 ? 'ipv4' : 'ipv6');
    });
}

/**
 * Node renders SANs as `DNS:a, IP Address:1.2.3.4, URI:"x,y"`: values holding a comma or quote
 * are JSON-quoted, so a plain split on ", " would let a crafted SAN forge another entry.
 */
export function parseSubjectAltNames(text: string | undefined): { type: string; value: string }[] {
  const entries: { type: string; value: string }[] = [];
  const entry = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  let match: RegExpExecArray | null;
  while (text && entry.lastIndex < text.length && (match = entry.exec(text)) !== null) {
    const [, type = '', raw = ''] = match;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        return entries; // unparseable: match nothing more rather than guess
      }
    }
    entries.push({ type, value });
  }
  return entries;
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
