import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { stringify } from 'yaml';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(repoPath('docs/grafana/harbinger.json'), 'utf8')) as { panels: Panel[]; templating: { list: Array<{ name: string }> } };
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

test('the Grafana dashboard covers disks by level, pressure, database latency, the MQTT outbox and the weight', (t) => {
  const all = exprs.map((e) => e.expr).join('\n');
  for (const metric of ['harbinger_disk_risk_level', 'harbinger_pressure_io_waiting_seconds_total', 'harbinger_db_probe_duration_seconds_bucket', 'harbinger_mqtt_outbox_events', 'harbinger_balance_weight_ratio']) {
    t.true(all.includes(metric), `no panel shows ${metric}`);
  }
  t.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'instance']);
});

test('every dashboard query is valid PromQL over metrics harbinger exports (promtool)', async (t) => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  for (const { panel, expr } of exprs) {
    for (const [, metric] of expr.matchAll(/\b(harbinger_[a-z0-9_]+)/g)) {
      t.true(readme.includes(`\`${metric!.replace(/_bucket$/, '')}\``), `${panel}: ${metric} is not in the README metrics reference`);
    }
  }
  // Grafana's variables as Prometheus would see them once substituted.
  const rules = exprs.map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr: expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '5m') }));
  const file = join(await tempDir(t), 'dashboard-queries.yml');
  await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
  const promtool = requireTool('promtool', 'prometheus');
  const result = await run(promtool, ['check', 'rules', file]).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`${err.stdout}${err.stderr}`);
  });
  t.regex(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});
