import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { execHarbinger } from '../helpers/agent.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const TREE = repoPath('test/fixtures/storage/md-lvm');

/** `harbinger check` on the replayed disks (sda, sdb, nvme0) over the md-lvm layout: RAID 1 of sda1+sdb1 under LVM. */
const check = async (t: Parameters<typeof tempDir>[0], ...extra: string[]) =>
  execHarbinger(t, [
    'check',
    ...extra,
    '--config',
    repoPath('examples/harbinger.yml'),
    '--no-collector.host',
    '--no-collector.pressure',
    '--no-collector.db',
    '--smart.replay',
    repoPath('examples/replay'),
    '--path.sysfs',
    `${TREE}/sys`,
    '--path.procfs',
    `${TREE}/proc`,
    '--balance.data-paths',
    '/var/lib/postgresql/15/main',
    '--state-dir',
    await tempDir(t),
  ]);

test('harbinger check shows what each disk carries: the JSON roles, and a ROLE column with one line per disk saying why', async (t) => {
  const json = JSON.parse((await check(t, '--json')).stdout) as { disks: Array<{ disk: string; device: string }>; roles: Record<string, { role: string; reason: string }> };
  const roleOf = (device: string) => json.roles[json.disks.find((d) => d.device === device)!.disk];
  t.like(roleOf('sda'), { role: 'redundant' });
  t.like(roleOf('sdb'), { role: 'redundant', reason: 'a member of md0 (raid1), which keeps its data without it (2 of 2 members in sync)' });
  t.like(roleOf('nvme0'), { role: 'unknown', reason: 'nvme0 has no namespaces in /sys/block' });
  const table = (await check(t)).stdout;
  t.regex(table, /^DISK\s+DEVICE\s+MODEL\s+LEVEL\s+P\(30d\)\s+REPLACE BY\s+ROLE\s+TOP EVIDENCE$/m);
  t.regex(table, /^wwn-\S+\s+sdb\s+.*\sredundant$/m);
  t.regex(table, /^wwn-\S+: redundant: a member of md0 \(raid1\)/m);
});
