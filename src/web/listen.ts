import type { Server } from 'node:http';
import { formatListenAddress, type ListenAddress } from '../config/listen-address.js';
import type { Logger } from '../logger.js';
import { createWebServer, type RequestHandler } from './server.js';
import type { WebConfig } from './webconfig.js';

export interface ListenSettings {
  listenAddress: ListenAddress;
  web: WebConfig | undefined;
}

/** The bound port of a listening server (useful with port 0). */
export function serverPort(server: Server | undefined): number | undefined {
  const address = server?.address();
  return typeof address === 'object' && address ? address.port : undefined;
}

/**
 * An HTTP(S) server with the web config applied, listening, with one log line saying where:
 * `what` is what it serves. Rejects when the address cannot be bound.
 */
export async function listenWebServer(settings: ListenSettings, handler: RequestHandler, logger: Logger, what: string): Promise<Server> {
  const server = createWebServer(settings.web, handler);
  // Slow or idle clients must not pin sockets forever; scrapers and browsers reconnect as needed.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  const { host, port } = settings.listenAddress;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  logger.info({ address: formatListenAddress({ ...settings.listenAddress, port: serverPort(server) ?? port }), tls: Boolean(settings.web?.tls) }, what);
  return server;
}

/** Stops accepting connections, lets in-flight responses finish, then cuts what is left after 1 s. */
export async function closeWebServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), 1000);
  await closed;
  clearTimeout(force);
}
