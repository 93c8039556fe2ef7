#!/usr/bin/env node
// Measures the agent side by side with Debian's prometheus-node-exporter, in one run on this
// machine: scrape latency of /metrics (median, p99), resident memory after a long run with
// 1-second collection intervals, and CPU per hour at default intervals.
//
//   npm run build && node scripts/bench-agent.mjs [--duration 600] [--scrapes 2000]
//
// Needs prometheus-node-exporter (apt-get install prometheus-node-exporter).
import { execFileSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, interleavedLatency, root, scrape, start, stopAll, waitServing } from './bench-lib.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    scrapes: { type: 'string', default: '2000' },
    'node-exporter': { type: 'string', default: 'prometheus-node-exporter' },
  },
});
const durationS = Number(values.duration);
const scrapes = Number(values.scrapes);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

function which(program) {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

// Megabytes (10^6 bytes), the unit of the target.
const rssMB = (pid) => (Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024) / 1e6;
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
};

const nodeExporter = which(values['node-exporter']);
if (!nodeExporter) {
  console.error(`${values['node-exporter']} is not installed: apt-get install prometheus-node-exporter`);
  process.exit(1);
}
const launcher = join(root, 'bin/harbinger');
const ports = { latency: await freePort(), cpu: await freePort(), memory: await freePort(), ne: await freePort() };
// Each agent keeps its history and outbox in a directory of its own, never the host's /var/lib/harbinger.
const work = mkdtempSync(join(tmpdir(), 'harbinger-bench-agent-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const agentArgs = (port, extra = []) => [
  'run',
  '--config',
  join(root, 'examples/harbinger.yml'),
  '--web.listen-address',
  `127.0.0.1:${port}`,
  '--state-dir',
  mkdtempSync(join(work, 'state-')),
  ...extra,
];

start('harbinger (latency)', launcher, agentArgs(ports.latency));
const cpuAgent = start('harbinger (default intervals)', launcher, agentArgs(ports.cpu));
const memoryAgent = start(
  'harbinger (1 s intervals)',
  launcher,
  agentArgs(ports.memory, ['--collector.pressure.interval', '1s', '--collector.pressure.timeout', '1s']),
);
const ne = start('node_exporter', nodeExporter, [`--web.listen-address=127.0.0.1:${ports.ne}`]);
const bareNode = start('bare node', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
await Promise.all([ports.latency, ports.cpu, ports.memory, ports.ne].map(waitServing));
await new Promise((r) => setTimeout(r, 2000)); // first collections done

// 1. Scrape latency, interleaved so both see the same machine state.
const [harbingerLatency, neLatency] = await interleavedLatency([ports.latency, ports.ne], scrapes);

// 2 and 3. A long run scraped every 15 s, as Prometheus would.
const cpuStart = { harbinger: cpuSeconds(cpuAgent.pid), node_exporter: cpuSeconds(ne.pid) };
const t0 = Date.now();
let maxRss = 0;
const progress = process.stderr.isTTY;
while (Date.now() - t0 < durationS * 1000) {
  await Promise.all([scrape(ports.cpu), scrape(ports.memory), scrape(ports.ne)]);
  maxRss = Math.max(maxRss, rssMB(memoryAgent.pid));
  const left = durationS * 1000 - (Date.now() - t0);
  if (progress) process.stderr.write(`\r${Math.ceil(left / 1000)} s left   `);
  await new Promise((r) => setTimeout(r, Math.min(15_000, Math.max(0, left))));
}
if (progress) process.stderr.write('\r\n');
const elapsed = (Date.now() - t0) / 1000;
const cpuPct = (pid, start) => ((cpuSeconds(pid) - start) / elapsed) * 100;

const result = {
  machine: { node: process.version, cpus: cpus().length, node_exporter: execFileSync(nodeExporter, ['--version'], { encoding: 'utf8' }).split('\n')[0] },
  scrape_latency_ms: {
    harbinger: harbingerLatency,
    node_exporter: neLatency,
    scrapes,
  },
  rss_mb: {
    harbinger_1s_intervals_after_run: rssMB(memoryAgent.pid),
    harbinger_1s_intervals_max: maxRss,
    harbinger_default_intervals: rssMB(cpuAgent.pid),
    node_exporter: rssMB(ne.pid),
    bare_node: rssMB(bareNode.pid),
    run_seconds: elapsed,
  },
  cpu_percent_of_one_core: {
    harbinger_default_intervals: cpuPct(cpuAgent.pid, cpuStart.harbinger),
    node_exporter: cpuPct(ne.pid, cpuStart.node_exporter),
    run_seconds: elapsed,
    scrape_interval_seconds: 15,
  },
};
stopAll();
console.log(JSON.stringify(result, null, 2));
const r = result;
const f = (n, d = 2) => n.toFixed(d);
console.log(`
| measure | harbinger | node_exporter | target |
|---|---|---|---|
| scrape latency, median (${scrapes} scrapes) | ${f(r.scrape_latency_ms.harbinger.median)} ms | ${f(r.scrape_latency_ms.node_exporter.median)} ms | ≤ 0.5× node_exporter (${f(r.scrape_latency_ms.harbinger.median / r.scrape_latency_ms.node_exporter.median)}×) |
| scrape latency, p99 | ${f(r.scrape_latency_ms.harbinger.p99)} ms | ${f(r.scrape_latency_ms.node_exporter.p99)} ms | |
| resident memory after ${f(elapsed / 60, 1)} min, 1 s intervals | ${f(r.rss_mb.harbinger_1s_intervals_after_run, 1)} MB (max ${f(maxRss, 1)}) | ${f(r.rss_mb.node_exporter, 1)} MB | ≤ 60 MB (bare node: ${f(r.rss_mb.bare_node, 1)} MB) |
| CPU at default intervals, scraped every 15 s | ${f(r.cpu_percent_of_one_core.harbinger_default_intervals, 3)}% of one core | ${f(r.cpu_percent_of_one_core.node_exporter, 3)}% | ≤ 0.5% |`);
process.exit(0);
