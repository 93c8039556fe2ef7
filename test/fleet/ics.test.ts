import test from 'ava';
import ICAL from 'ical.js';
import { maintenanceCalendar, replacementUid, replacementWindow } from '../../src/fleet/ics.js';
import { maintenanceSchedule } from '../../src/fleet/maintenance.js';
import { diskRecord, T0 } from '../helpers/fleet-records.js';

const HOSTS = [{ host: 'db1', state: 'online' as const, lastSeenMs: T0 }];

/** The feed parsed back by an independent iCalendar library: its VEVENTs. */
function parseFeed(text: string) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  assertCalendar(calendar);
  return calendar.getAllSubcomponents('vevent');
}
function assertCalendar(calendar: InstanceType<typeof ICAL.Component>): void {
  if (calendar.name !== 'vcalendar') throw new Error(`not a calendar: ${calendar.name}`);
  if (calendar.getFirstPropertyValue('version') !== '2.0') throw new Error('not iCalendar 2.0');
  if (!String(calendar.getFirstPropertyValue('prodid')).includes('harbinger')) throw new Error('no PRODID');
}
const dateOf = (event: InstanceType<typeof ICAL.Component>, name: string) => {
  const value = event.getFirstPropertyValue(name) as InstanceType<typeof ICAL.Time>;
  return { isDate: value.isDate, text: value.toString() };
};

test('one all-day VEVENT per disk to replace, from the start of the episode to the replace-by date', (t) => {
  const disks = [
    diskRecord('db1', 'sda', 'ok'),
    diskRecord('db1', 'sdb', 'failing', { replaceBy: '2026-12-03', episodeStarted: '2026-11-27T23:30:00.000Z', model: 'Hitachi HDS721050DLE630', serial: 'MSK423Y20S3HBC' }),
    diskRecord('db1', 'sdc', 'degraded', { replaceBy: '2026-12-20' }),
  ];
  const text = maintenanceCalendar(maintenanceSchedule(disks, HOSTS), T0);
  t.true(text.startsWith('BEGIN:VCALENDAR\r\n'), 'CRLF line ends');
  for (const line of text.split('\r\n')) t.true(Buffer.byteLength(line) <= 75, `folded at 75 octets: ${line}`);
  const events = parseFeed(text);
  t.is(events.length, 2);
  const [first, second] = events as [InstanceType<typeof ICAL.Component>, InstanceType<typeof ICAL.Component>];
  t.is(first.getFirstPropertyValue('summary'), 'Replace disk Hitachi HDS721050DLE630 MSK423Y20S3HBC on db1 (failing)');
  t.deepEqual(dateOf(first, 'dtstart'), { isDate: true, text: '2026-11-27' });
  t.deepEqual(dateOf(first, 'dtend'), { isDate: true, text: '2026-12-04' }, 'DTEND is exclusive: the replace-by day is inside the window');
  t.is(first.getFirstPropertyValue('uid'), replacementUid({ host: 'db1', disk: 'sdb', episodeStarted: '2026-11-27T23:30:00.000Z' }));
  t.regex(String(first.getFirstPropertyValue('uid')), /^[0-9a-f]{32}@harbinger$/);
  t.deepEqual(first.getFirstProperty('categories')!.getValues(), ['harbinger', 'disk replacement', 'failing']);
  t.is(first.getFirstPropertyValue('priority') as unknown, 1);
  t.is(first.getFirstPropertyValue('transp'), 'TRANSPARENT');
  t.is((first.getFirstPropertyValue('dtstamp') as InstanceType<typeof ICAL.Time>).toJSDate().getTime(), T0);
  const description = String(first.getFirstPropertyValue('description'));
  t.regex(description, /^Disk sdb \(\/dev\/sdb\) on db1 is failing: 95% probability of failure within 30 days\.\nReplace it by 2026-12-03\./);
  t.regex(description, /\nEvidence:\n- 8 sectors are waiting to be reallocated\. \(pending_sectors = 8\)\n/);
  t.is(second.getFirstPropertyValue('summary'), 'Replace disk TEST MODEL SN-db1-sdc on db1 (degraded)');
  t.is(second.getFirstPropertyValue('priority') as unknown, 5);
});

test('text with commas, semicolons, backslashes and newlines survives escaping and folding', (t) => {
  const note = 'Pending sectors; "unreadable", data may be lost\\ run a long self-test.\nSecond line, ünïcödé … and a very long tail to force folding across several lines of the feed';
  const disk = diskRecord('db,1;x', 'sd\\b', 'degraded', { model: 'ACME; "Fast", Disk', evidence: [{ signal: 'pending_sectors', value: 8, note }] });
  const [event] = parseFeed(maintenanceCalendar(maintenanceSchedule([disk], []), T0));
  t.is(event!.getFirstPropertyValue('summary'), `Replace disk ACME; "Fast", Disk SN-db,1;x-sd\\b on db,1;x (degraded)`);
  t.true(String(event!.getFirstPropertyValue('description')).includes(`- ${note} (pending_sectors = 8)`));
});

test('the UID names the episode: the same event as the disk gets worse, a new one for a new episode', (t) => {
  const degraded = diskRecord('db1', 'sdb', 'degraded', { replaceBy: '2026-12-20' });
  const failing = diskRecord('db1', 'sdb', 'failing', { replaceBy: '2026-12-03' });
  const later = diskRecord('db1', 'sdb', 'degraded', { episodeStarted: '2027-02-01T00:00:00.000Z', replaceBy: '2027-03-01' });
  const uid = (d: typeof degraded) => parseFeed(maintenanceCalendar(maintenanceSchedule([d], HOSTS), T0))[0]!.getFirstPropertyValue('uid');
  t.is(uid(degraded), uid(failing));
  t.not(uid(degraded), uid(later));
  t.not(uid(degraded), uid(diskRecord('db2', 'sdb', 'degraded')), 'another host');
});

test('the window: never starting after the replace-by day; one day when there is no date', (t) => {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const w = (item: Parameters<typeof replacementWindow>[0]) => {
    const { start, end } = replacementWindow(item);
    return [day(start), day(end)];
  };
  t.deepEqual(w({ replaceBy: '2026-12-08', episodeStarted: '2026-11-28T18:18:00.070Z', updatedMs: T0 }), ['2026-11-28', '2026-12-09']);
  t.deepEqual(w({ replaceBy: '2026-11-20', episodeStarted: '2026-11-28T18:18:00.070Z', updatedMs: T0 }), ['2026-11-20', '2026-11-21']);
  t.deepEqual(w({ updatedMs: Date.parse('2026-11-30T10:00:00Z') }), ['2026-11-30', '2026-12-01']);
});

test('an empty schedule is a valid calendar with no events', (t) => {
  t.deepEqual(parseFeed(maintenanceCalendar([], T0)), []);
});
