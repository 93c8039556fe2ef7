export interface ListenAddress {
  /** undefined: every interface, IPv4 and IPv6 (as Go's `:port`). */
  host?: string;
  port: number;
}

/** `:10190`, `0.0.0.0:10190`, `127.0.0.1:10190`, `[::1]:10190`, `localhost:10190`. */
export const LISTEN_ADDRESS_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]*):[0-9]{1,5}$';

export function parseListenAddress(text: string): ListenAddress | string {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `port ${port} is out of range 0-65535`;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return host ? { host, port } : { port };
}

export function formatListenAddress(address: ListenAddress): string {
  if (!address.host) return `:${address.port}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
