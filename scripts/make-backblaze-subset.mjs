#!/usr/bin/env node
// Makes the small committed subset of Backblaze's public drive data that test/predict/evaluate.test.ts
// replays (test/fixtures/backblaze/, provenance in its SOURCES.md): every row of FAILED failed drives
// and HEALTHY never-failed drives from each shared file, chosen deterministically by FNV-1a of
// "subset:" + serial (the lowest hashes), plus a single-day snapshot cut from the daily subset.
//
//   node scripts/make-backblaze-subset.mjs [../shared/data/disk-failure] [--failed 40] [--healthy 400]
//
// Same input, same bytes out (gzip without a timestamp).
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createGunzip, gzipSync } from 'node:zlib';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { failed: { type: 'string', default: '40' }, healthy: { type: 'string', default: '400' } } });
const dataDir = positionals[0] ?? '../shared/data/disk-failure';
const outDir = 'test/fixtures/backblaze';

function fnv1a32(text) {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

async function readRows(file) {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let header;
  const rows = [];
  for await (const line of lines) {
    if (header === undefined) header = line;
    else if (line !== '') rows.push(line);
  }
  return { header, rows };
}

/** serial → failed?, from a file's rows. */
function drivesOf(header, rows, failedColumn) {
  const cols = header.split(',');
  const serialAt = cols.indexOf('serial_number');
  const failAt = cols.indexOf(failedColumn);
  const drives = new Map();
  for (const row of rows) {
    const cells = row.split(',');
    const serial = cells[serialAt];
    drives.set(serial, (drives.get(serial) ?? false) || cells[failAt] === '1');
  }
  return { drives, serialAt, dateAt: cols.indexOf('date'), failAt };
}

function pick(drives) {
  const byHash = [...drives.keys()].sort((a, b) => fnv1a32(`subset:${a}`) - fnv1a32(`subset:${b}`) || (a < b ? -1 : 1));
  const failed = byHash.filter((s) => drives.get(s)).slice(0, Number(values.failed));
  const healthy = byHash.filter((s) => !drives.get(s)).slice(0, Number(values.healthy));
  return new Set([...failed, ...healthy]);
}

async function write(name, header, rows) {
  const data = gzipSync(`${[header, ...rows].join('\n')}\n`, { level: 9 });
  await writeFile(join(outDir, name), data);
  console.log(`${join(outDir, name)}: ${rows.length} rows, ${data.length} bytes`);
}

await mkdir(outDir, { recursive: true });

const daily = await readRows(join(dataDir, 'backblaze-2013-daily.csv.gz'));
const d = drivesOf(daily.header, daily.rows, 'failure');
const dailyKeep = pick(d.drives);
const dailyRows = daily.rows.filter((r) => dailyKeep.has(r.split(',')[d.serialAt]));
await write('daily-2013-subset.csv.gz', daily.header, dailyRows);

// The snapshot: the subset's rows of the day with the most failures (ties: the earliest day).
const failuresByDay = new Map();
for (const row of dailyRows) {
  const cells = row.split(',');
  if (cells[d.failAt] === '1') failuresByDay.set(cells[d.dateAt], (failuresByDay.get(cells[d.dateAt]) ?? 0) + 1);
}
const day = [...failuresByDay].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
await write(`snapshot-${day}-subset.csv.gz`, daily.header, dailyRows.filter((r) => r.split(',')[d.dateAt] === day));

const intervals = await readRows(join(dataDir, 'backblaze-2013-2016-intervals.csv.gz'));
const i = drivesOf(intervals.header, intervals.rows, 'fails');
const intervalKeep = pick(i.drives);
await write('intervals-2013-2016-subset.csv.gz', intervals.header, intervals.rows.filter((r) => intervalKeep.has(r.split(',')[i.serialAt])));
