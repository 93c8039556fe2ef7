import test from 'ava';
import { Registry } from 'prom-client';
import { Exposition } from '../../src/metrics/exposition.js';
import { stateFamily } from '../../src/metrics/state-family.js';

test('a collector\'s families are rendered once per reading, then reused until the reading changes', async (t) => {
  let reading: { disks: number } | undefined = { disks: 2 };
  let renders = 0;
  const registry = new Registry();
  stateFamily(registry, {
    name: 'harbinger_test_disks',
    help: 'Disks.',
    type: 'gauge',
    *samples() {
      renders++;
      if (reading) yield { labels: {}, value: reading.disks };
    },
  });
  const agent = new Registry();
  const exposition = new Exposition(agent);
  exposition.addCollector(registry, () => reading);
  t.regex(await exposition.text(), /^harbinger_test_disks 2$/m);
  await exposition.text();
  await exposition.text();
  t.is(renders, 1, 'three scrapes, one rendering');
  reading = { disks: 64 };
  t.regex(await exposition.text(), /^harbinger_test_disks 64$/m);
  t.is(renders, 2);
  reading = undefined;
  t.notRegex(await exposition.text(), /^harbinger_test_disks \d/m, 'no reading, no sample');
});
