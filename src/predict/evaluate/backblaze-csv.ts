/**
 * Streaming readers for Backblaze's public drive data (see ../shared/data/disk-failure/README.md),
 * turning rows into the DiskSamples the agent's predictor reads. Three shapes, told apart by the
 * header, gzip'd or not (by the magic bytes):
 *
 * - daily: `date, serial_number, model, …, failure, smart_N_raw …` — one row per drive per day
 *   (Backblaze's daily snapshot files, and concatenations of them, in date order). A row with
 *   `failure=1` is the drive's last day in operation.
 * - snapshot: the same columns with a single date (one Backblaze daily file): one reading per drive.
 * - intervals: `serial_number, model, …, min_date, min_hours, tstart, tstop, fails, smart_N …` —
 *   one row per interval of power-on hours in which the values stayed constant. A drive is replayed
 *   as one reading at each `tstart` and a last one at its final `tstop` (`fails=1`: the last reading
 *   before the failure). Hours become dates as the README says: min_date + (hours - min_hours) / 24.
 *
 * Raw values are decoded like the agent's parser decodes smartctl's `raw.value` (Seagate's packed
 * 188 is the largest of its three counters), so the predictor sees what it sees on a host; the
 * baselines get the raw numbers as the file has them, as the published rules read them.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { decodeAtaRaw } from '../../collectors/smart/ata-raw.js';
import type { DiskSample } from '../types.js';

export type CsvFormat = 'daily' | 'intervals';

/** SMART attribute ids read from the files: the predictor's counters and the baselines' inputs. */
export const ATTRIBUTE_IDS = [5, 9, 10, 187, 188, 196, 197, 198, 199] as const;

type CounterField = 'reallocatedSectors' | 'reportedUncorrectable' | 'commandTimeouts' | 'reallocationEvents' | 'pendingSectors' | 'offlineUncorrectable' | 'udmaCrcErrors' | 'powerOnHours';
const SAMPLE_FIELD: Partial<Record<number, CounterField>> = {
  5: 'reallocatedSectors',
  9: 'powerOnHours',
  187: 'reportedUncorrectable',
  188: 'commandTimeouts',
  196: 'reallocationEvents',
  197: 'pendingSectors',
  198: 'offlineUncorrectable',
  199: 'udmaCrcErrors',
};

export interface BackblazeReading {
  serial: string;
  model: string;
  sample: DiskSample;
  /** Raw SMART values as the file has them, by attribute id (absent: not reported). */
  raw: Partial<Record<number, number>>;
  /** The drive failed after this reading (its last). */
  failure: boolean;
  /** Day of the row (daily/snapshot), for telling a snapshot from a daily series. */
  date?: string;
  /** The drive's last reading in this file (intervals: the final tstop), or its failure. */
  final?: boolean;
}

export interface ReadProgress {
  file: string;
  format?: CsvFormat;
  bytesRead: number;
  totalBytes: number;
  rows: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A file `evaluate` cannot read as Backblaze data: the message names the file and what is wrong. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
}

/** What a system or zlib error on `file` means to whoever named the file. */
export function fileProblem(file: string, err: unknown): DataFileError {
  if (err instanceof DataFileError) return err;
  const { code, message } = err as NodeJS.ErrnoException;
  const what: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'a directory, not a file',
    Z_BUF_ERROR: 'the gzip data ends early: the file is truncated (an interrupted download or copy?)',
    Z_DATA_ERROR: `the gzip data is damaged (${message})`,
  };
  return new DataFileError(`${file}: ${(code !== undefined && what[code]) || message}`);
}

/** Split one CSV line; quoted fields (RFC 4180) are handled, Backblaze's files have none. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text === 'NA') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

const isSeagateHdd = (model: string): boolean => /^ST[0-9]/i.test(model);

/** The columns a reader needs, by name; a file may lack some (the formats differ). */
const NAMED = ['serial_number', 'model', 'date', 'failure', 'min_date', 'min_hours', 'tstart', 'tstop', 'fails'] as const;
type Named = (typeof NAMED)[number];

interface Columns {
  format: CsvFormat;
  /** The file's column numbers that are read, ascending: a row's cells are picked in this order. */
  wanted: number[];
  /** Where each named column sits among the picked cells (-1: not in this file). */
  at: Record<Named, number>;
  /** (attribute id, position among the picked cells). */
  attributes: Array<[id: number, cell: number]>;
}

function columnsOf(header: string[], file: string): Columns {
  const names = header.map((h) => h.trim().replace(/^\uFEFF/, ''));
  const index = (name: string): number => names.indexOf(name);
  const format: CsvFormat | undefined =
    index('tstart') >= 0 && index('tstop') >= 0 ? 'intervals' : index('date') >= 0 && index('failure') >= 0 ? 'daily' : undefined;
  if (format === undefined || index('serial_number') < 0) {
    throw new DataFileError(`${file}: not a Backblaze drive-stats CSV (need serial_number and date+failure, or tstart+tstop+fails)`);
  }
  const byAttribute: Array<[number, number]> = [];
  for (const id of ATTRIBUTE_IDS) {
    const column = Math.max(index(`smart_${id}_raw`), index(`smart_${id}`));
    if (column >= 0) byAttribute.push([id, column]);
  }
  const wanted = [...new Set([...NAMED.map(index), ...byAttribute.map(([, column]) => column)].filter((c) => c >= 0))].sort((a, b) => a - b);
  const at = Object.fromEntries(NAMED.map((name) => [name, wanted.indexOf(index(name))])) as Record<Named, number>;
  return { format, wanted, at, attributes: byAttribute.map(([id, column]) => [id, wanted.indexOf(column)]) };
}

/**
 * The cells of `cols.wanted`, in that order, without splitting the rest of the line: Backblaze's
 * files since 2015 have 100–180 columns of which about 15 are read, and cutting every one of them
 * into a string was the largest cost of an evaluation. A quoted line (none in Backblaze's files)
 * takes the full CSV split.
 */
export function pickCells(line: string, wanted: readonly number[]): Array<string | undefined> {
  const out: Array<string | undefined> = new Array(wanted.length);
  if (line.includes('"')) {
    const cells = splitCsvLine(line);
    for (let k = 0; k < wanted.length; k++) out[k] = cells[wanted[k]!];
    return out;
  }
  let column = 0;
  let start = 0;
  for (let k = 0; k < wanted.length; k++) {
    const target = wanted[k]!;
    while (column < target && start >= 0) {
      const comma = line.indexOf(',', start);
      start = comma < 0 ? -1 : comma + 1;
      column++;
    }
    if (start < 0) break; // a short row: the remaining cells are absent
    const end = line.indexOf(',', start);
    out[k] = end < 0 ? line.slice(start) : line.slice(start, end);
  }
  return out;
}

/**
 * Below 2^16 an integer raw value of the counters read here (5, 9, 187, 188, 196–199) decodes to
 * itself in every packing decodeAtaRaw knows (it is the low word): most cells skip the decoding.
 */
const UNPACKED_BELOW = 65_536;

function buildReading(cols: Columns, cells: ReadonlyArray<string | undefined>, serial: string, model: string, atMs: number, failure: boolean, powerOnHours?: number): BackblazeReading {
  const sample: DiskSample = { atMs, protocol: 'ata', serial };
  if (model !== '') sample.model = model;
  const raw: Partial<Record<number, number>> = {};
  const seagate = isSeagateHdd(model);
  for (const [id, cell] of cols.attributes) {
    const value = parseNumber(cells[cell]);
    if (value === undefined || value < 0) continue;
    raw[id] = value;
    const field = SAMPLE_FIELD[id];
    if (field === undefined) continue;
    const decoded = value < UNPACKED_BELOW && Number.isInteger(value) ? value : decodeAtaRaw({ id, value, seagate });
    if (decoded !== undefined) sample[field] = decoded;
  }
  if (powerOnHours !== undefined) sample.powerOnHours = powerOnHours;
  return { serial, model, sample, raw, failure };
}

/**
 * One copy of each serial and model name. A cell split from a line can be a slice that keeps the
 * whole line alive (V8 sliced strings), and every reading in a drive's history holds its serial and
 * model: with the 130-column files Backblaze publishes since 2015 that kept about 2 KB per reading
 * (a quarter of 250,000 drives would not fit in memory). The pool's copies are flat strings.
 */
class StringPool {
  private readonly pool = new Map<string, string>();

  intern(value: string): string {
    let copy = this.pool.get(value);
    if (copy === undefined) {
      copy = Buffer.from(value, 'utf8').toString('utf8');
      this.pool.set(copy, copy);
    }
    return copy;
  }
}

/**
 * The file's text in blocks of whole lines (readline's per-line events and its line-break regular
 * expression cost more than the rest of the parse). The caller walks each block's lines itself:
 * an array of a block's lines would outlive the young generation and pile up as garbage.
 */
async function* blocksOf(file: string, gzip: boolean, progress: ReadProgress): AsyncGenerator<string> {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  input.on('data', (chunk) => {
    progress.bytesRead += chunk.length;
  });
  const stream: Readable = gzip ? input.pipe(createGunzip()) : input;
  input.on('error', (err) => stream.destroy(err));
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      const end = text.lastIndexOf('\n') + 1;
      rest = text.slice(end);
      if (end > 0) yield text.slice(0, end);
    }
    const last = rest + decoder.end();
    if (last !== '') yield `${last}\n`;
  } finally {
    input.destroy(); // a reader that stops early (the format check reads one row) closes the file
  }
}

/**
 * The readings of one file, in file order. `progress` is updated as the file is read (for a
 * progress line). Rows without a serial number or a usable date are skipped and counted.
 */
export async function* readBackblaze(file: string, progress: ReadProgress = { file, bytesRead: 0, totalBytes: 0, rows: 0 }): AsyncGenerator<BackblazeReading> {
  try {
    progress.totalBytes = (await stat(file)).size;
    let cols: Columns | undefined;
    let pending: BackblazeReading | undefined; // intervals: the reading at the last tstop of the current drive
    const strings = new StringPool();
    for await (const block of blocksOf(file, await isGzip(file), progress)) {
      for (let from = 0, to = block.indexOf('\n'); to >= 0; from = to + 1, to = block.indexOf('\n', from)) {
        const line = block.slice(from, to > from && block.charCodeAt(to - 1) === 13 ? to - 1 : to);
        if (line === '') continue;
        if (cols === undefined) {
          cols = columnsOf(splitCsvLine(line), file);
          progress.format = cols.format;
          continue;
        }
        progress.rows++;
        const { at } = cols;
        const cells = pickCells(line, cols.wanted);
        const serial = strings.intern(cells[at.serial_number]?.trim() ?? '');
        const model = strings.intern(cells[at.model]?.trim() ?? '');
        if (serial === '') continue;
        if (cols.format === 'daily') {
          const date = cells[at.date]?.trim() ?? '';
          const atMs = Date.parse(`${date}T00:00:00Z`);
          if (!Number.isFinite(atMs)) continue;
          const reading = buildReading(cols, cells, serial, model, atMs, cells[at.failure]?.trim() === '1');
          reading.date = date;
          if (reading.failure) reading.final = true;
          yield reading;
          continue;
        }
        const minDay = Date.parse(`${cells[at.min_date]?.trim() ?? ''}T00:00:00Z`);
        const minHours = parseNumber(cells[at.min_hours]) ?? 0;
        const tstart = parseNumber(cells[at.tstart]);
        const tstop = parseNumber(cells[at.tstop]);
        if (!Number.isFinite(minDay) || tstart === undefined || tstop === undefined) continue;
        const dateOf = (hours: number): number => minDay + Math.round(((hours - minHours) * HOUR_MS) / 1000) * 1000;
        if (pending !== undefined && pending.serial !== serial) yield pending;
        yield buildReading(cols, cells, serial, model, dateOf(tstart), false, tstart);
        pending = buildReading(cols, cells, serial, model, dateOf(tstop), cells[at.fails]?.trim() === '1', tstop);
        pending.final = true;
      }
    }
    if (pending !== undefined) yield pending;
  } catch (err) {
    throw fileProblem(file, err);
  }
}

/** When a drive that failed after `lastReadingMs` is taken to have failed: the end of that day. */
export function failureTimeAfter(lastReadingMs: number): number {
  return lastReadingMs + DAY_MS;
}
