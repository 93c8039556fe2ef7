import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ListenAddress } from '../config/listen-address.js';
import type { OverrideJson } from './override.js';

/** The agent's load-balancer state as its /health shows it. */
export interface AgentBalance {
  state: string;
  weight: number;
  reasons: string[];
  /** null: no override in force; undefined: this agent does not report overrides (an older version). */
  override: OverrideJson | null | undefined;
  /** The cluster it serves in, when it names one. */
  cluster?: string;
  /** Its drain request to the collector, when it has one. */
  drainRequest?: { state: string; verdict: string; answer?: { state: string; reason: string } };
}

export type AgentAnswer = { reached: true; balance: AgentBalance | undefined; note?: string } | { reached: false; why: string };

/** Where the local agent's /health is; undefined when its port is chosen at start (port 0). */
export function healthUrl(listen: ListenAddress, tls: boolean): string | undefined {
  if (listen.port === 0) return undefined;
  // A wildcard listener answers on loopback too.
  const host = listen.host === undefined || listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}/health`;
}

function parseBalance(body: string): AgentBalance | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const balance = (value as { balance?: Record<string, unknown> } | null)?.balance;
  if (typeof balance !== 'object' || balance === null || typeof balance.state !== 'string') return undefined;
  const request = balance.drain_request as Record<string, any> | null | undefined;
  const answer = request?.answer as Record<string, unknown> | null | undefined;
  return {
    state: balance.state,
    weight: typeof balance.weight === 'number' ? balance.weight : 0,
    reasons: Array.isArray(balance.reasons) ? balance.reasons.map(String) : [],
    override: 'override' in balance ? (balance.override as OverrideJson | null) : undefined,
    ...(typeof balance.cluster === 'string' ? { cluster: balance.cluster } : {}),
    ...(request && typeof request.state === 'string'
      ? {
          drainRequest: {
            state: request.state,
            verdict: String(request.verdict),
            ...(answer && typeof answer.state === 'string' ? { answer: { state: answer.state, reason: String(answer.reason) } } : {}),
          },
        }
      : {}),
  };
}

/**
 * GET /health once, within `timeoutMs`. 503 is an answer too (the host is drained or down). The
 * certificate of a TLS listener is not checked: this only reads the state back, and the agent's
 * certificate names the host, not the loopback address used here.
 */
export function fetchAgentBalance(url: string, timeoutMs: number): Promise<AgentAnswer> {
  return new Promise((resolve) => {
    const https = url.startsWith('https:');
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', timeout: timeoutMs, ...(https ? { rejectUnauthorized: false } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 401) resolve({ reached: true, balance: undefined, note: 'it wants a password for /health (web.config_file basic_auth_users)' });
        else resolve({ reached: true, balance: parseBalance(body) });
      });
      res.on('error', (err) => resolve({ reached: false, why: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ reached: false, why: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}
