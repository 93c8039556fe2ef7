import test from 'ava';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isRealDate, parseDateTime } from '../../src/protocol/dates.js';

const ajvDate = fullFormats.date as { validate: (s: string) => boolean };
const ajvDateTime = fullFormats['date-time'] as { validate: (s: string) => boolean };

const DATES = ['2028-02-29', '2000-02-29', '2100-02-29', '2027-02-29', '2026-02-30', '2026-02-31', '2026-04-31', '2026-13-01', '0000-00-00', '0000-01-01', '2026-12-08', '2026-1-01', '26-12-08', ''];
const DATE_TIMES = [
  '2026-11-28T18:17:59.028Z',
  '2026-11-28T19:17:59+01:00',
  '2026-11-28t18:17:59z',
  '2026-12-31T23:59:60Z',
  '2027-01-01T00:59:60+01:00',
  '2026-12-31T12:59:60Z',
  '2026-02-31T00:00:00Z',
  '2026-11-28T24:00:00Z',
  '2026-11-28T18:17:59',
  '2026-11-28',
  'Sat, 28 Nov 2026 18:17:59 GMT',
];

test('dates: the same verdict as ajv-formats, the schemas\' format: date', (t) => {
  for (const d of DATES) t.is(isRealDate(d), ajvDate.validate(d), d);
});

test('date-times: the same verdict as ajv-formats, the schemas\' format: date-time, in RFC 3339\'s own forms; the time is the one written', (t) => {
  for (const d of DATE_TIMES) {
    const ms = parseDateTime(d);
    if (ms !== undefined) t.true(ajvDateTime.validate(d), d);
    // Refused: ajv-formats refuses it too, but for the forms RFC 3339's grammar has not (a space for T, +0100, +01).
    else t.false(/^\S+([Zz]|[+-]\d\d:\d\d)$/.test(d) && ajvDateTime.validate(d), `${d} refused though ajv-formats takes it`);
  }
  t.is(parseDateTime('0001-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z'));
  t.is(parseDateTime('2026-11-28T19:17:59.5+01:00'), Date.parse('2026-11-28T18:17:59.500Z'));
  t.is(parseDateTime('2027-01-01T00:59:60+01:00'), Date.parse('2027-01-01T00:00:00.000Z'));
});
