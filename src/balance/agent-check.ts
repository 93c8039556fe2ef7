import { createServer, type Server } from 'node:net';
import { formatListenAddress, type ListenAddress } from '../config/listen-address.js';
import type { Logger } from '../logger.js';
import { agentCheckLine, type BalanceDecision } from './policy.js';

/**
 * HAProxy's agent-check protocol: HAProxy connects to `agent-port`, the agent writes one line
 * (`up ready 40%`, `drain`, `down`, with a `#` description) and closes. Nothing is read, so a
 * slow or silent client costs nothing; the answer comes from memory.
 */
export class AgentCheckServer {
  private server: Server | undefined;

  constructor(
    private readonly decision: () => BalanceDecision,
    private readonly logger: Logger,
  ) {}

  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async start(address: ListenAddress): Promise<void> {
    const server = createServer({ allowHalfOpen: false }, (socket) => {
      socket.on('error', () => socket.destroy());
      socket.end(agentCheckLine(this.decision()));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.info({ address: formatListenAddress({ ...address, port: this.port ?? address.port }) }, 'answering HAProxy agent-check');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
