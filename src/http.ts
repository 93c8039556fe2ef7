import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ListenAddress } from './config/listen-address.js';
import type { Logger } from './logger.js';
import type { Exposition } from './metrics/exposition.js';
import type { MqttStatus } from './mqtt/service.js';
import type { DiskRoleInfo } from './balance/disk-roles.js';
import { overrideJson } from './balance/override.js';
import { roleJson } from './balance/role-json.js';
import type { BalanceStatus } from './balance/service.js';
import type { DrainView } from './balance/drain-request.js';
import type { PredictionsReading } from './predict/service.js';
import type { DbReading } from './collectors/db/collector.js';
import { databasesHealth } from './collectors/db/health.js';
import { PREDICTIONS, type State } from './state.js';
import { closeWebServer, listenWebServer, serverPort } from './web/listen.js';
import { updateWebServer } from './web/server.js';
import type { WebConfig } from './web/webconfig.js';

export interface HttpSettings {
  listenAddress: ListenAddress;
  web: WebConfig | undefined;
}

export interface HttpDeps {
  exposition: Exposition;
  state: State;
  logger: Logger;
  version: string;
  startedAtMs: number;
  now?: () => number;
  /** MQTT delivery; undefined while MQTT is off. It does not make the host unhealthy. */
  mqttStatus?: () => MqttStatus | undefined;
  /** The load-balancer decision: /health answers 503 when it is drain or down. */
  balance?: () => BalanceStatus;
  /** What each disk carries (data, redundant, system, unused, unknown). */
  roles?: () => ReadonlyMap<string, DiskRoleInfo>;
  /** The cluster and the drain asked of the collector, with its answer. */
  drain?: () => DrainView;
}


/** /health `balance.drain_request`: the drain asked of the collector, and where it stands. */
export function drainRequestJson(view: DrainView | undefined): object | null {
  const r = view?.request;
  if (!view || !r || !view.state) return null;
  const a = view.answer;
  return {
    id: r.id,
    state: view.state,
    since: new Date(r.sinceMs).toISOString(),
    verdict: r.verdict,
    disks: r.disks,
    answer: a ? { state: a.state, reason: a.reason, decided: new Date(a.decidedMs).toISOString(), collector: a.collector } : null,
  };
}

/** /metrics, /health and /. Every response is built from state in memory; nothing collects here. */
export class HttpService {
  private server: Server | undefined;
  private readonly now: () => number;
  private readonly handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);

  constructor(
    private settings: HttpSettings,
    private readonly deps: HttpDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Takes new settings (SIGHUP). Same address: applied to the open socket, so scrapes never see
   * a refused connection; a new address, or TLS switched on or off: a new listener.
   */
  async update(settings: HttpSettings): Promise<void> {
    const sameAddress = JSON.stringify(settings.listenAddress) === JSON.stringify(this.settings.listenAddress);
    if (this.server && sameAddress && updateWebServer(this.server, settings.web, this.handler)) {
      this.settings = settings;
      return;
    }
    const previous = this.settings;
    await this.stop();
    this.settings = settings;
    try {
      await this.start();
    } catch (err) {
      this.settings = previous;
      await this.start();
      throw err;
    }
  }

  /** The bound port, once listening (useful with port 0). */
  get port(): number | undefined {
    return serverPort(this.server);
  }

  async start(): Promise<void> {
    this.server = await listenWebServer(this.settings, this.handler, this.deps.logger, 'serving /metrics, /health and /');
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
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        const parts = await this.deps.exposition.render();
        res.writeHead(200, {
          'Content-Type': this.deps.exposition.contentType,
          'Content-Length': parts.reduce((n, p) => n + p.length, 0),
        });
        if (req.method === 'HEAD') res.end();
        else {
          for (const part of parts) res.write(part);
          res.end();
        }
      } else if (path === '/health') {
        // A plain HTTP health check reads the code: 200 to keep sending work, 503 to stop.
        const balance = this.deps.balance?.();
        const code = balance && balance.state !== 'up' ? 503 : 200;
        this.send(req, res, code, 'application/json', `${JSON.stringify(this.health())}\n`);
      } else if (path === '/-/healthy') {
        // Liveness, apart from the balance: a drained host's agent is alive and well.
        this.send(req, res, 200, 'text/plain; charset=utf-8', 'harbinger is healthy.\n');
      } else if (path === '/-/ready') {
        const waiting = this.waitingFor();
        if (waiting.length === 0) this.send(req, res, 200, 'text/plain; charset=utf-8', 'harbinger is ready.\n');
        else this.send(req, res, 503, 'text/plain; charset=utf-8', `harbinger is not ready: waiting for the first round of ${waiting.join(', ')}.\n`);
      } else if (path === '/') {
        this.send(req, res, 200, 'text/html; charset=utf-8', this.index());
      } else {
        this.send(req, res, 404, 'text/plain', 'not found: try /metrics, /health, /-/healthy, /-/ready or /\n');
      }
    } catch (err) {
      this.deps.logger.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Enabled collectors whose first round has not ended yet: until then the decision is uninformed. */
  private waitingFor(): string[] {
    const { state } = this.deps;
    return state.collectors().filter((name) => {
      const s = state.status(name);
      return s.enabled && s.lastAttemptMs === undefined && s.success === undefined;
    });
  }

  health(): object {
    const { state, version, startedAtMs } = this.deps;
    const now = this.now();
    const collectors: Record<string, object> = {};
    const problems: string[] = [];
    let healthy = true;
    for (const name of state.collectors()) {
      const s = state.status(name);
      if (!s.enabled) continue;
      if (s.success === false) {
        healthy = false;
        problems.push(`the ${name} collector fails: ${s.lastError ?? 'unknown error'}`);
      }
      collectors[name] = {
        success: s.success ?? null,
        last_success: s.lastSuccessMs === undefined ? null : new Date(s.lastSuccessMs).toISOString(),
        data_age_seconds: s.lastSuccessMs === undefined ? null : (now - s.lastSuccessMs) / 1000,
        consecutive_failures: s.consecutiveFailures,
        last_error: s.lastError ?? null,
      };
    }
    const predictions = state.reading<PredictionsReading>(PREDICTIONS);
    const mqtt = this.deps.mqttStatus?.();
    const balance = this.deps.balance?.();
    const roles = this.deps.roles?.() ?? new Map<string, DiskRoleInfo>();
    // A database that does not answer, or that harbinger cannot watch, makes the agent degraded;
    // only the first takes the host out of the load balancer (see balance.reasons).
    const databases = databasesHealth(state.reading<DbReading>('db'));
    for (const d of databases) {
      if (d.up !== false || !d.last_error) continue;
      healthy = false;
      problems.push(
        d.fault === 'monitoring'
          ? `harbinger cannot watch database ${d.target} (${d.last_error.reason}: ${d.last_error.message}): a monitoring fault, which does not change the load-balancer decision`
          : `database ${d.target} does not answer (${d.last_error.reason}: ${d.last_error.message}), ${d.unanswered_probes} probe${d.unanswered_probes === 1 ? '' : 's'} in a row`,
      );
    }
    if (balance?.overrideProblem) problems.push(`the operator override file is ignored: ${balance.overrideProblem}`);
    for (const d of predictions?.disks ?? []) {
      const role = roles.get(d.disk);
      if (role?.role === 'unknown') problems.push(`what disk ${d.disk} (${d.device}) holds is unknown: ${role.reason}`);
    }
    return {
      status: healthy ? 'ok' : 'degraded',
      problems,
      version,
      started_at: new Date(startedAtMs).toISOString(),
      uptime_seconds: (now - startedAtMs) / 1000,
      balance: balance
        ? {
            state: balance.state,
            weight: balance.weight,
            reasons: balance.reasons,
            since: new Date(balance.sinceMs).toISOString(),
            decided_by: balance.decidedBy,
            override: overrideJson(balance.override),
            current: { state: balance.current.state, weight: balance.current.weight, reasons: balance.current.reasons },
            cluster: this.deps.drain?.().cluster ?? null,
            coordinated: this.deps.drain?.().coordinated ?? false,
            drain_request: drainRequestJson(this.deps.drain?.()),
          }
        : null,
      collectors,
      disks: (predictions?.disks ?? []).map((d) => ({
        disk: d.disk,
        device: d.device,
        model: d.model ?? null,
        level: d.level,
        probability: d.probability,
        horizon_days: d.horizonDays,
        replace_by: d.replaceBy ?? null,
        evidence: d.evidence.slice(0, 3),
        role: roleJson(roles.get(d.disk)),
      })),
      databases,
      mqtt: mqtt
        ? {
            connected: mqtt.connected,
            outbox_events: mqtt.outboxDepth,
            outbox_durable: !mqtt.outboxVolatile,
            events_published: mqtt.eventsPublished,
            events_dropped: mqtt.eventsDropped,
            last_publish: mqtt.lastPublishMs === undefined ? null : new Date(mqtt.lastPublishMs).toISOString(),
          }
        : null,
    };
  }

  private index(): string {
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>harbinger ${escapeHtml(this.deps.version)}</title></head>
<body><h1>harbinger</h1>
<p>Disk, pressure and database health of this host.</p>
<ul><li><a href="metrics">/metrics</a>: Prometheus metrics</li><li><a href="health">/health</a>: the load-balancer check and the agent's status (JSON; 503 while drained or down)</li><li><a href="-/healthy">/-/healthy</a>: liveness</li><li><a href="-/ready">/-/ready</a>: readiness (after the first round of every collector)</li></ul>
</body></html>
`;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
