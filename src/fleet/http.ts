import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ListenAddress } from '../config/listen-address.js';
import type { Logger } from '../logger.js';
import { closeWebServer, listenWebServer, serverPort } from '../web/listen.js';
import type { WebConfig } from '../web/webconfig.js';
import { eventsJson, fleetHosts, fleetJson, maintenanceJson } from './api.js';
import { maintenanceCsv } from './csv.js';
import { fleetPage } from './html.js';
import { maintenanceCalendar } from './ics.js';
import { maintenanceSchedule, type BadRowReport } from './maintenance.js';
import type { FleetMetrics } from './metrics.js';
import type { FleetStore } from './store.js';
import { clustersJson, type ClusterSnapshot } from './clusters/snapshot.js';

export const FLEET_PATHS = ['/', '/api/fleet', '/api/clusters', '/api/maintenance', '/api/events', '/maintenance.ics', '/maintenance.csv', '/metrics', '/health'];
const MAX_EVENTS = 1000;
const DEFAULT_EVENTS = 100;

export interface FleetHttpDeps {
  store: FleetStore;
  metrics: FleetMetrics;
  logger: Logger;
  version: string;
  now: () => number;
  /** The collector's own health (MQTT connection, store). */
  health: () => { status: 'ok' | 'degraded' } & Record<string, unknown>;
  /** Reports each store read, so store health covers reads as well as writes. */
  storeRead: (err?: unknown) => void;
  /** Every cluster: members, grants, deferrals, the failover figure. */
  clusters: () => Promise<ClusterSnapshot[]>;
}

class StoreUnavailable extends Error {}
class BadRequest extends Error {}

/** The collector's HTTP side: the fleet page, the JSON API, the schedule exports, /metrics, /health. */
export class FleetHttp {
  private server: Server | undefined;
  /** Stored rows the feeds show without a field or leave out: each logged once, not at every request. */
  private readonly badRowsLogged = new Set<string>();
  private readonly badRow: BadRowReport = (row, field, problem) => {
    const key = JSON.stringify([row.host, row.disk, field, problem]);
    if (this.badRowsLogged.has(key)) return;
    this.badRowsLogged.add(key);
    this.deps.logger.warn({ host: row.host, disk: row.disk, field, problem }, `a stored disk row cannot be shown as it is: ${problem}; the feeds show it without ${field === 'row' ? 'it' : field}`);
  };

  constructor(
    private readonly settings: { listenAddress: ListenAddress; web: WebConfig | undefined },
    private readonly deps: FleetHttpDeps,
  ) {}

  get port(): number | undefined {
    return serverPort(this.server);
  }

  async start(): Promise<void> {
    this.server = await listenWebServer(this.settings, (req, res) => void this.handle(req, res), this.deps.logger, 'serving the fleet API');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeWebServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://collector');
      const now = this.deps.now();
      switch (url.pathname) {
        case '/': {
          const hosts = await this.fleet();
          const clusters = await this.read(() => this.deps.clusters());
          send(req, res, 200, 'text/html; charset=utf-8', fleetPage(hosts, this.schedule(hosts), clusters, this.deps.version, now));
          return;
        }
        case '/api/fleet':
          return sendJson(req, res, fleetJson(await this.fleet(), now));
        case '/api/clusters':
          return sendJson(req, res, clustersJson(await this.read(() => this.deps.clusters()), now));
        case '/api/maintenance':
          return sendJson(req, res, maintenanceJson(this.schedule(await this.fleet()), now));
        case '/api/events': {
          const query = eventQuery(url.searchParams);
          return sendJson(req, res, eventsJson(await this.read(() => this.deps.store.events(query))));
        }
        case '/maintenance.ics':
          send(req, res, 200, 'text/calendar; charset=utf-8', maintenanceCalendar(this.schedule(await this.fleet()), now, this.badRow));
          return;
        case '/maintenance.csv':
          send(req, res, 200, 'text/csv; charset=utf-8; header=present', maintenanceCsv(this.schedule(await this.fleet())), {
            'Content-Disposition': 'attachment; filename="harbinger-maintenance.csv"',
          });
          return;
        case '/metrics':
          send(req, res, 200, this.deps.metrics.contentType, await this.deps.metrics.render());
          return;
        case '/health':
          return sendJson(req, res, this.deps.health());
        default:
          send(req, res, 404, 'text/plain; charset=utf-8', `not found: try ${FLEET_PATHS.join(', ')}\n`);
      }
    } catch (err) {
      if (err instanceof BadRequest) send(req, res, 400, 'text/plain; charset=utf-8', `${err.message}\n`);
      else if (err instanceof StoreUnavailable) send(req, res, 503, 'text/plain; charset=utf-8', 'the fleet store is unavailable; see the collector log\n');
      else {
        this.deps.logger.error({ err, url: req.url }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      }
    }
  }

  private async fleet() {
    const [hosts, disks] = await this.read(() => Promise.all([this.deps.store.hosts(), this.deps.store.disks()]));
    return fleetHosts(hosts, disks);
  }

  private schedule(hosts: ReturnType<typeof fleetHosts>) {
    return maintenanceSchedule(hosts.flatMap((h) => h.disks), hosts, this.badRow);
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    try {
      const result = await query();
      this.deps.storeRead();
      return result;
    } catch (err) {
      this.deps.storeRead(err);
      throw new StoreUnavailable();
    }
  }
}

/** `?host=db1&disk=wwn-…&limit=50` */
function eventQuery(params: URLSearchParams): { host?: string; disk?: string; limit: number } {
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_EVENTS : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS) throw new BadRequest(`limit must be a whole number from 1 to ${MAX_EVENTS}`);
  const host = params.get('host');
  const disk = params.get('disk');
  return { limit, ...(host !== null ? { host } : {}), ...(disk !== null ? { disk } : {}) };
}

function sendJson(req: IncomingMessage, res: ServerResponse, body: object): void {
  send(req, res, 200, 'application/json', `${JSON.stringify(body)}\n`);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
