import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { StorageCollector, storageCollector, type StorageReading } from '../../../src/collectors/storage/index.js';
import { captureLogger } from '../../helpers/logger.js';
import { repoPath, tempDir } from '../../helpers/tmp.js';

const signal = new AbortController().signal;

function collectFrom(root: string): Promise<StorageReading> {
  const { logger } = captureLogger();
  return new StorageCollector({
    settings: { enabled: true, intervalMs: 30_000, timeoutMs: 10_000, options: {} },
    paths: { procfs: join(root, 'proc'), sysfs: join(root, 'sys') },
    logger,
  }).collect(signal);
}

const fixture = (layout: string) => collectFrom(repoPath('test/fixtures/storage', layout));
const byName = (r: StorageReading, name: string) => r.devices.find((d) => d.name === name);

test('defaults: every 30s, 10s timeout, on, read on every interval', (t) => {
  t.deepEqual(storageCollector.defaults, { enabled: true, interval: '30s', timeout: '10s' });
  t.false(storageCollector.once);
});

test('this machine (recorded): vda with the root file system, loop devices, zram, no swap', async (t) => {
  const r = await fixture('this-machine');
  t.deepEqual(byName(r, 'vda'), { name: 'vda', dev: '254:0', kind: 'disk', parents: [], holders: [] });
  t.is(byName(r, 'loop0')!.kind, 'loop');
  t.is(byName(r, 'zram0')!.kind, 'disk');
  t.is(r.devices.length, 10);
  t.deepEqual(r.mounts.find((m) => m.mountPoint === '/'), { dev: '254:0', mountPoint: '/', fsType: 'ext4', source: '/dev/vda' });
  t.deepEqual(r.swaps, []);
});

test('a loop device with a partition table (recorded): partitions found under their disk', async (t) => {
  const r = await fixture('loop-partitions');
  t.deepEqual(byName(r, 'loop0p1'), { name: 'loop0p1', dev: '259:0', kind: 'partition', parents: ['loop0'], holders: [] });
  t.deepEqual(byName(r, 'loop0p2')!.parents, ['loop0']);
  t.is(r.mounts.find((m) => m.dev === '259:0')!.source, '/dev/loop0p1');
});

test('NVMe namespaces with partitions, a swap partition, an NFS mount with an escaped space', async (t) => {
  const r = await fixture('nvme');
  t.deepEqual(
    r.devices.map((d) => d.name),
    ['nvme0n1', 'nvme0n1p1', 'nvme0n1p2', 'nvme0n1p3', 'nvme1n1', 'nvme1n1p1', 'nvme1n2', 'nvme2n1'],
  );
  t.deepEqual(byName(r, 'nvme0n1p3')!.parents, ['nvme0n1']);
  t.deepEqual(r.swaps, ['/dev/nvme0n1p3']);
  t.is(r.mounts.find((m) => m.fsType === 'nfs4')!.mountPoint, '/var/lib/pg backups');
});

test('md RAID 1 under LVM: md level, members and states; dm name and kind; slaves and holders', async (t) => {
  const r = await fixture('md-lvm');
  t.deepEqual(byName(r, 'md0'), {
    name: 'md0',
    dev: '9:0',
    kind: 'md',
    parents: ['sda1', 'sdb1'],
    holders: ['dm-0'],
    md: {
      level: 'raid1',
      raidDisks: 2,
      degraded: 0,
      arrayState: 'clean',
      syncAction: 'idle',
      members: [
        { name: 'sda1', state: ['in_sync'] },
        { name: 'sdb1', state: ['write_mostly', 'in_sync'] },
      ],
    },
  });
  t.deepEqual(byName(r, 'dm-0'), { name: 'dm-0', dev: '253:0', kind: 'dm', parents: ['md0'], holders: [], dm: { name: 'vg0-pg', kind: 'lvm' } });
  t.deepEqual(byName(r, 'sda1')!.holders, ['md0']);
});

test('dm-crypt on a partition, and a degraded RAID 1 with a faulty member', async (t) => {
  const crypt = await fixture('crypt');
  t.deepEqual(byName(crypt, 'dm-0')!.dm, { name: 'mysql_crypt', kind: 'crypt' });
  t.deepEqual(byName(crypt, 'dm-0')!.parents, ['sdb1']);
  t.deepEqual(crypt.swaps, ['/swap file']);
  const degraded = await fixture('md-degraded');
  const md = byName(degraded, 'md0')!.md!;
  t.is(md.degraded, 1);
  t.deepEqual(md.members, [
    { name: 'sda1', state: ['in_sync'] },
    { name: 'sdb1', state: ['faulty'] },
  ]);
});

test('a live-style tree with symlinks: slaves and holders as links, md member named by its block link', async (t) => {
  const root = await tempDir(t);
  const sys = join(root, 'sys');
  const put = async (path: string, text: string) => {
    await mkdir(join(sys, path, '..'), { recursive: true });
    await writeFile(join(sys, path), `${text}\n`);
  };
  await put('devices/virtual/block/md0/dev', '9:0');
  await put('devices/virtual/block/md0/md/level', 'raid1');
  await put('devices/virtual/block/md0/md/dev-old/state', 'in_sync');
  await put('devices/pci/sda/dev', '8:0');
  await put('devices/pci/sda/sda1/dev', '8:1');
  await put('devices/pci/sda/sda1/partition', '1');
  await mkdir(join(sys, 'block'));
  await mkdir(join(sys, 'devices/virtual/block/md0/slaves'));
  await mkdir(join(sys, 'devices/pci/sda/sda1/holders'));
  await symlink('../devices/virtual/block/md0', join(sys, 'block/md0'));
  await symlink('../devices/pci/sda', join(sys, 'block/sda'));
  await symlink('../../../../pci/sda/sda1', join(sys, 'devices/virtual/block/md0/slaves/sda1'));
  await symlink('../../../../../pci/sda/sda1', join(sys, 'devices/virtual/block/md0/md/dev-old/block'));
  await symlink('../../../../virtual/block/md0', join(sys, 'devices/pci/sda/sda1/holders/md0'));
  await mkdir(join(root, 'proc/self'), { recursive: true });
  await writeFile(join(root, 'proc/self/mountinfo'), '27 1 9:0 / / rw - ext4 /dev/md0 rw\n');
  const r = await collectFrom(root);
  const md0 = r.devices.find((d) => d.name === 'md0')!;
  t.deepEqual(md0.parents, ['sda1']);
  t.deepEqual(md0.md!.members, [{ name: 'sda1', state: ['in_sync'] }], 'named by the link, not the directory');
  t.is(md0.md!.raidDisks, 1, 'no raid_disks file: the members counted');
  t.deepEqual(r.devices.find((d) => d.name === 'sda1')!.holders, ['md0']);
  t.deepEqual(r.swaps, [], 'no /proc/swaps: no swap');
});

test('no /sys/block: an error that says what could not be read and what it means', async (t) => {
  const root = await tempDir(t);
  const err = await t.throwsAsync(collectFrom(root));
  t.is(err!.message, `cannot read ${join(root, 'sys/block')} (ENOENT): the disks' roles are unknown`);
});
