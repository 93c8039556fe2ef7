import type { MaintenanceItem } from './maintenance.js';

export const MAINTENANCE_CSV_COLUMNS = [
  'replace_by',
  'host',
  'host_state',
  'disk',
  'device',
  'model',
  'serial',
  'level',
  'probability',
  'episode_started',
  'last_reading',
  'evidence',
] as const;

/**
 * One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF (or starts or ends
 * with a space, which some readers trim), with inner double quotes doubled. Text that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe: the fields come
 * from agents, and the file is opened by people.
 */
export function csvField(value: string | number | undefined | null): string {
  let text = value === undefined || value === null ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV document: header row first, CRLF after every record (RFC 4180). */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | undefined | null>>): string {
  return [header, ...rows].map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}

/** The maintenance schedule as CSV, in schedule order; evidence notes are joined with " | ". */
export function maintenanceCsv(items: readonly MaintenanceItem[]): string {
  return toCsv(
    MAINTENANCE_CSV_COLUMNS,
    items.map((m) => [
      m.replaceBy,
      m.host,
      m.hostState,
      m.disk,
      m.device,
      m.model,
      m.serial,
      m.level,
      m.probability,
      m.episodeStarted,
      m.lastReading,
      m.evidence.map((e) => e.note).join(' | '),
    ]),
  );
}
