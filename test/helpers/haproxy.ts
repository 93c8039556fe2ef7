import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { RunningAgent } from './agent.js';
import { repoPath, tempDir } from './tmp.js';
import { freePort, waitFor } from './tools.js';

export interface HaproxyServer {
  name: string;
  /** The agent's agent-check port. */
  agentPort: number;
}

export interface ServerState {
  name: string;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state bits: 0x08 forced drain (agent or CLI), 0x01 forced maintenance, … */
  adminState: number;
  /** srv_uweight: the weight in use. */
  weight: number;
}

export interface Haproxy {
  /** `show servers state <backend>` on the runtime API, parsed. */
  servers(): Promise<ServerState[]>;
}

function haproxyBinary(): string {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('haproxy is not installed: run "apt-get install haproxy" (or scripts/test.sh as root, which installs it)');
  }
}

/**
 * A real HAProxy in the foreground with one TCP backend `db`, one server per agent, each with
 * `agent-check agent-port N agent-inter 300ms` at a dummy TCP service, and an admin socket.
 */
export async function startHaproxy(t: ExecutionContext, servers: readonly HaproxyServer[]): Promise<Haproxy> {
  const binary = haproxyBinary();
  const dir = await tempDir(t, 'harbinger-haproxy-');
  const socket = join(dir, 'admin.sock');
  const lines = [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend db_in',
    `  bind 127.0.0.1:${await freePort()}`,
    '  default_backend db',
    'backend db',
  ];
  for (const s of servers) {
    const dummy = createServer((c) => c.end());
    await new Promise<void>((resolve) => dummy.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => dummy.close(() => resolve())));
    const { port } = dummy.address() as { port: number };
    lines.push(`  server ${s.name} 127.0.0.1:${port} weight 100 agent-check agent-addr 127.0.0.1 agent-port ${s.agentPort} agent-inter 300ms`);
  }
  const conf = join(dir, 'haproxy.cfg');
  await writeFile(conf, `${lines.join('\n')}\n`);
  execFileSync(binary, ['-c', '-q', '-f', conf]);
  const child = spawn(binary, ['-db', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const command = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const c = connect(socket);
      let out = '';
      c.on('data', (d) => (out += d));
      c.on('end', () => resolve(out));
      c.on('error', reject);
      c.end(`${text}\n`);
    });
  await waitFor('haproxy admin socket', async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${output}`);
    return (await command('show info')).includes('Name: HAProxy') ? true : undefined;
  });
  return {
    async servers() {
      const text = await command('show servers state db');
      const rows = text.split('\n').filter((l) => /^\d/.test(l));
      return rows.map((row) => {
        // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight …
        const f = row.split(' ');
        return { name: f[3]!, opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]) };
      });
    },
  };
}

/** An agent's agent-check port, from its own log line (it listens on port 0). */
export const agentCheckPort = (agent: RunningAgent): Promise<number> =>
  waitFor('the agent-check listener', async () => {
    const line = agent.logs().find((l) => l.msg === 'answering HAProxy agent-check');
    return line ? Number(String(line.address).split(':').pop()) : undefined;
  });

/** An agent on the example config that answers agent-check on a free port, with this settle time. */
export const agentCheckArgs = (settle: string): string[] => ['--config', repoPath('examples/harbinger.yml'), '--balance.agent-check-address', '127.0.0.1:0', '--balance.settle', settle];

/** The example replay, one recorded round a second: its sdb turns failing in the fourth. */
export const FAST_REPLAY: readonly string[] = ['--smart.replay', repoPath('examples/replay'), '--collector.smart.interval', '1s', '--collector.smart.timeout', '1s'];
