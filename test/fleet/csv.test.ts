import test from 'ava';
import { csvField, MAINTENANCE_CSV_COLUMNS, maintenanceCsv, toCsv } from '../../src/fleet/csv.js';
import { maintenanceSchedule } from '../../src/fleet/maintenance.js';
import { diskRecord, T0 } from '../helpers/fleet-records.js';

/**
 * An RFC 4180 reader, written from the RFC's grammar for this test (not from the writer): records
 * end in CRLF; a field is either plain (no comma, quote, CR or LF) or quoted, with "" for ".
 */
function readCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"' && text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else if (text[i] === '"') {
            i++;
            break;
          } else field += text[i++];
        }
      } else {
        while (i < text.length && !/[,\r\n"]/.test(text[i]!)) field += text[i++];
        if (text[i] === '"') throw new Error(`a quote inside a plain field at ${i}`);
      }
      record.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      }
      throw new Error(`expected a comma or CRLF at ${i}, got ${JSON.stringify(text[i])}`);
    }
    records.push(record);
  }
  return records;
}

test('fields are quoted only when they must be, with quotes doubled', (t) => {
  t.is(csvField('plain text'), 'plain text');
  t.is(csvField('a,b'), '"a,b"');
  t.is(csvField('say "hi"'), '"say ""hi"""');
  t.is(csvField('two\nlines'), '"two\nlines"');
  t.is(csvField('cr\rhere'), '"cr\rhere"');
  t.is(csvField(' padded '), '" padded "');
  t.is(csvField(0.95), '0.95');
  t.is(csvField(undefined), '');
  t.is(csvField(null), '');
  t.is(toCsv(['a', 'b'], [['1', 'x,y']]), 'a,b\r\n1,"x,y"\r\n');
});

test('text a spreadsheet would run as a formula is defused; numbers are left alone', (t) => {
  t.is(csvField('=HYPERLINK("http://evil")'), `"'=HYPERLINK(""http://evil"")"`);
  t.is(csvField('+1+1'), "'+1+1");
  t.is(csvField('-2'), "'-2");
  t.is(csvField('@SUM(A1)'), "'@SUM(A1)");
  t.is(csvField(-0.5), '-0.5');
  t.is(csvField('WDC WD30EFRX'), 'WDC WD30EFRX');
});

test('the maintenance CSV: a header row, then one record per disk in schedule order; awkward values read back intact', (t) => {
  const awkward = diskRecord('db1', 'sdb', 'failing', {
    model: 'ACME "Fast", 2TB',
    replaceBy: '2026-12-03',
    evidence: [
      { signal: 'a', value: 1, note: 'Line one,\nline two' },
      { signal: 'b', value: true, note: 'He said "replace it"' },
    ],
  });
  const csv = maintenanceCsv(maintenanceSchedule([diskRecord('db2', 'sda', 'degraded'), diskRecord('db1', 'sda', 'ok'), awkward], [{ host: 'db1', state: 'online', lastSeenMs: T0 }]));
  const [header, ...rows] = readCsv(csv);
  t.deepEqual(header, [...MAINTENANCE_CSV_COLUMNS]);
  t.is(rows.length, 2);
  const record = Object.fromEntries(header!.map((h, i) => [h, rows[0]![i]]));
  t.deepEqual(record, {
    replace_by: '2026-12-03',
    host: 'db1',
    host_state: 'online',
    disk: 'sdb',
    device: '/dev/sdb',
    model: 'ACME "Fast", 2TB',
    serial: 'SN-db1-sdb',
    level: 'failing',
    probability: '0.95',
    episode_started: '2026-11-27T08:00:00.000Z',
    last_reading: new Date(T0).toISOString(),
    evidence: 'Line one,\nline two | He said "replace it"',
  });
  t.deepEqual(rows[1]!.slice(0, 3), ['2026-12-20', 'db2', 'unknown']);
  t.is(maintenanceCsv([]), `${MAINTENANCE_CSV_COLUMNS.join(',')}\r\n`, 'an empty schedule is the header alone');
});
