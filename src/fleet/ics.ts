import { createHash } from 'node:crypto';
import ical, { ICalEventTransparency } from 'ical-generator';
import { diskLabel, type BadRowReport, type MaintenanceItem } from './maintenance.js';

const DAY_MS = 86_400_000;
/** How often a subscribed calendar should fetch the feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL). */
const REFRESH_SECONDS = 3600;

/**
 * The UID of a disk's replacement: one per (host, disk, episode), so a calendar that subscribed
 * to the feed updates the event when the disk gets worse (a nearer date, `failing`), and a new
 * episode after a recovery is a new event.
 */
export function replacementUid(item: { host: string; disk: string; episodeStarted?: string }): string {
  const hash = createHash('sha256').update(JSON.stringify([item.host, item.disk, item.episodeStarted ?? ''])).digest('hex');
  return `${hash.slice(0, 32)}@harbinger`;
}

/**
 * The replacement window as whole days (UTC): from the day the episode started (the disk was
 * first announced degraded or failing) to the replace-by date, inclusive. Returns the iCalendar
 * all-day DTSTART and the exclusive DTEND.
 */
export function replacementWindow(item: { replaceBy?: string; episodeStarted?: string; updatedMs: number }): { start: Date; end: Date } {
  const from = Date.parse(item.episodeStarted ?? new Date(item.updatedMs).toISOString());
  let start = new Date(Math.floor(from / DAY_MS) * DAY_MS);
  const last = item.replaceBy ? new Date(`${item.replaceBy}T00:00:00Z`) : start;
  if (start > last) start = last;
  return { start, end: new Date(last.getTime() + DAY_MS) };
}

/**
 * The maintenance schedule as an iCalendar feed: one all-day event per replacement window. A row
 * that cannot be made an event is left out (and reported), not the whole feed.
 */
export function maintenanceCalendar(items: readonly MaintenanceItem[], nowMs: number, report?: BadRowReport): string {
  const calendar = ical({
    name: 'harbinger: disk replacements',
    description: 'Disks that harbinger predicts will fail, with the date to replace them by.',
    prodId: { company: 'harbinger', product: 'fleet collector', language: 'EN' },
    ttl: REFRESH_SECONDS,
  });
  for (const item of items) {
    try {
      addEvent(calendar, item, nowMs);
    } catch (err) {
      report?.(item, 'row', `left out of maintenance.ics: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return calendar.toString();
}

function addEvent(calendar: ReturnType<typeof ical>, item: MaintenanceItem, nowMs: number): void {
  const { start, end } = replacementWindow(item);
  calendar.createEvent({
      id: replacementUid(item),
      allDay: true,
      start,
      end,
      stamp: new Date(nowMs),
      lastModified: new Date(item.updatedMs),
      summary: `Replace disk ${diskLabel(item)} on ${item.host} (${item.level})`,
      description: describe(item),
      categories: [{ name: 'harbinger' }, { name: 'disk replacement' }, { name: item.level }],
      // 1 is the highest priority (RFC 5545): a failing disk first.
      priority: item.level === 'failing' ? 1 : 5,
      // A window of weeks must not mark anyone busy.
      transparency: ICalEventTransparency.TRANSPARENT,
    });
}

function describe(item: MaintenanceItem): string {
  const percent = Math.round(item.probability * 1000) / 10;
  const horizon = item.horizonDays ? ` within ${item.horizonDays} days` : '';
  const lines = [
    `Disk ${item.disk} (${item.device || 'device unknown'}) on ${item.host} is ${item.level}: ${percent}% probability of failure${horizon}.`,
    item.replaceBy ? `Replace it by ${item.replaceBy}.` : 'Replace it as soon as possible.',
    `Model: ${item.model ?? 'unknown'}; serial: ${item.serial ?? 'unknown'}; host is ${item.hostState}.`,
  ];
  if (item.evidence.length > 0) {
    lines.push('', 'Evidence:');
    for (const e of item.evidence) lines.push(`- ${e.note} (${e.signal} = ${String(e.value)})`);
  }
  return lines.join('\n');
}
