#!/usr/bin/env node
// `harbinger evaluate` on a daily file as wide as Backblaze publishes them since 2023 (date, serial,
// model, capacity, failure, the five data-centre columns, then normalized and raw values of 63
// SMART attributes: about 900 characters a row), with `--drives` drives over `--days` days:
// wall time and peak resident memory of the evaluate process. The values are made up (every
// 500th drive grows reallocated sectors and fails on the last day); what is measured is the cost
// of reading and replaying rows this wide, which real files of that era share.
//
//   npm run build && node scripts/bench-evaluate.mjs [--drives 20000] [--days 40]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { root } from './bench-lib.mjs';

const { values } = parseArgs({ options: { drives: { type: 'string', default: '20000' }, days: { type: 'string', default: '40' } } });
const drives = Number(values.drives);
const days = Number(values.days);

const IDS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 22, 23, 24, 168, 170, 173, 174, 177, 179, 181, 182, 183, 184, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 218, 220, 222, 223, 224, 225, 226, 231, 232, 233, 235, 240, 241, 242, 250, 251, 252, 254, 255];
const HEADER = ['date', 'serial_number', 'model', 'capacity_bytes', 'failure', 'datacenter', 'cluster_id', 'vault_id', 'pod_id', 'pod_slot_position', 'is_legacy_format', ...IDS.flatMap((id) => [`smart_${id}_normalized`, `smart_${id}_raw`])];

async function writeFile(file) {
  const gzip = createGzip({ level: 1 });
  const out = gzip.pipe(createWriteStream(file));
  const write = async (line) => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  await write(HEADER.join(','));
  for (let d = 0; d < days; d++) {
    const date = new Date(Date.UTC(2023, 3, 1) + d * 86_400_000).toISOString().slice(0, 10);
    for (let s = 0; s < drives; s++) {
      const failing = s % 500 === 0;
      const raw = { 5: failing ? d : 0, 9: 20_000 + 24 * d, 187: 0, 188: 0, 194: 30, 197: 0, 198: 0 };
      const cells = [date, `ZL2${String(s).padStart(7, '0')}`, s % 2 ? 'ST16000NM001G' : 'TOSHIBA MG08ACA16TA', '16000900661248', failing && d === days - 1 ? '1' : '0', 'phx1', '0', '1001', String(s % 300), String(s % 60), '0'];
      for (const id of IDS) cells.push('100', String(raw[id] ?? 123_456_789));
      await write(cells.join(','));
    }
  }
  gzip.end();
  await once(out, 'finish');
}

const dir = await mkdtemp(join(tmpdir(), 'harbinger-bench-evaluate-'));
try {
  const file = join(dir, 'wide-daily.csv.gz');
  await writeFile(file);
  // The child reports its own peak RSS as it exits (no /usr/bin/time needed).
  const report = "process.on('exit',()=>process.stderr.write('maxrss_kb '+process.resourceUsage().maxRSS+'\\n'))";
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(report)}`, join(root, 'dist/src/cli.js'), 'evaluate', '--json', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`evaluate exited with ${code}: ${stderr}`);
  const result = JSON.parse(stdout);
  const maxRss = Number(/maxrss_kb (\d+)/.exec(stderr)?.[1]);
  console.log(`wide daily file: ${drives} drives × ${days} days = ${result.rows} rows of ${HEADER.length} columns, ${((await stat(file)).size / 1e6).toFixed(1)} MB gzip'd`);
  console.log(`evaluate: ${seconds.toFixed(1)} s (${Math.round(result.rows / seconds).toLocaleString('en-US')} rows/s), peak RSS ${(maxRss / 1024).toFixed(0)} MiB; ${result.drives} drives, ${result.failed} failed`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
