/**
 * RFC 3339 dates and date-times, checked as dates and not only by their shape: the checks of
 * JSON Schema's `format: date` and `format: date-time` (ajv-formats' full mode, the schemas in
 * docs/schemas). Date.parse is not one: it takes "1", "Tue, 1 Dec 2026" or "2026-01-01 10:00" (in
 * the local zone), and turns 2026-02-31 into 3 March.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

function realDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && isLeapYear(year) ? 29 : DAYS[month]!);
}

/** An RFC 3339 full-date (YYYY-MM-DD) that names a day of the calendar: not 2026-02-30, 2026-13-01, 0000-00-00. */
export function isRealDate(text: string): boolean {
  const m = DATE.exec(text);
  return m !== null && realDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * An RFC 3339 date-time (a real day, a real time of day, Z or a ±hh:mm offset) as Unix ms;
 * undefined when it is not one. A leap second (23:59:60 UTC) is the next second's start.
 */
export function parseDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const sign = m[8] === '-' ? -1 : 1;
  const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
  if (!realDay(year, month, day) || hour > 23 || minute > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offset = sign * (offsetHours * 60 + offsetMinutes);
  if (second > 60) return undefined;
  if (second === 60) {
    // Only the last second of a UTC day can be a leap second.
    const utcMinutes = (((hour * 60 + minute - offset) % 1440) + 1440) % 1440;
    if (utcMinutes !== 1439) return undefined;
  }
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day); // not Date.UTC: it takes years 0 to 99 as 1900 to 1999
  at.setUTCHours(hour, minute, second, m[7] === undefined ? 0 : Math.floor(Number(m[7]) * 1000));
  return at.getTime() - offset * 60_000;
}
