import { join } from 'node:path';
import test from 'ava';
import { StorageCollector, type StorageReading } from '../../src/collectors/storage/index.js';
import { diskRoles, type DataLocation, type RoleInput } from '../../src/balance/disk-roles.js';
import { mountFor } from '../../src/balance/block-graph.js';
import { captureLogger } from '../helpers/logger.js';
import { repoPath } from '../helpers/tmp.js';

const signal = new AbortController().signal;

async function tree(layout: string): Promise<StorageReading> {
  const root = repoPath('test/fixtures/storage', layout);
  return new StorageCollector({
    settings: { enabled: true, intervalMs: 30_000, timeoutMs: 10_000, options: {} },
    paths: { procfs: join(root, 'proc'), sysfs: join(root, 'sys') },
    logger: captureLogger().logger,
  }).collect(signal);
}

/** Disks named after their device (`sda` → id `disk-sda`). */
function roles(storage: StorageReading | undefined, devices: string[], locations: DataLocation[], rest: Partial<RoleInput> = {}) {
  const map = diskRoles({
    storage,
    disks: devices.map((device) => ({ disk: `disk-${device.split('/').pop()}`, device })),
    locations,
    unknownLocations: [],
    ...rest,
  });
  return (device: string) => map.get(`disk-${device}`)!;
}

const PG = [{ target: 'pg-main', paths: ['/var/lib/postgresql/15/main'] }];

test('data directory on the root file system of a whole disk: that disk holds the data', async (t) => {
  const role = roles(await tree('this-machine'), ['/dev/vda', '/dev/zram0'], PG);
  t.deepEqual(role('vda'), { role: 'data', targets: ['pg-main'], paths: ['/var/lib/postgresql/15/main'], reason: 'holds /var/lib/postgresql/15/main of pg-main (vda)' });
  t.is(role('zram0').role, 'unused');
});

test('a plain disk with partitions: the partition with the data makes the disk data; the OS disk is system', async (t) => {
  const storage = await tree('loop-partitions');
  const role = roles(storage, ['/dev/loop0', '/dev/vda'], [{ target: 'maria', paths: ['/tmp/harbinger-record.gJrj/mnt/srv/mysql'] }]);
  t.is(role('loop0').role, 'data');
  t.is(role('loop0').reason, 'holds /tmp/harbinger-record.gJrj/mnt/srv/mysql of maria (loop0p1 on loop0)');
  t.is(role('vda').role, 'system');
  t.is(role('vda').reason, 'carries / (no database data)');
});

test('NVMe: a controller path maps to its namespaces, the worst one applies; a namespace path to itself', async (t) => {
  const role = roles(await tree('nvme'), ['/dev/nvme0', '/dev/nvme1', '/dev/nvme2', '/dev/nvme1n2', '/dev/nvme7'], PG);
  t.is(role('nvme1').role, 'data', 'nvme1n1 holds the data, nvme1n2 is empty: the controller is data');
  t.is(role('nvme1').reason, 'holds /var/lib/postgresql/15/main of pg-main (nvme1n1p1 on nvme1n1)');
  t.deepEqual(role('nvme0'), { role: 'system', targets: [], paths: [], reason: 'carries /, /boot/efi, swap /dev/nvme0n1p3 (no database data)' });
  t.is(role('nvme2').role, 'unused');
  t.is(role('nvme1n2').role, 'unused', 'the empty namespace by itself');
  t.deepEqual(role('nvme7'), { role: 'unknown', targets: [], paths: [], reason: 'nvme7 has no namespaces in /sys/block' });
});

test('a device that is not in the tree is unknown', async (t) => {
  const role = roles(await tree('md-lvm'), ['/dev/sdq'], PG);
  t.deepEqual(role('sdq'), { role: 'unknown', targets: [], paths: [], reason: 'sdq is not in /sys/block' });
});

test('LVM on a healthy md RAID 1: each member is redundant; the OS disk system; the empty disk unused', async (t) => {
  const role = roles(await tree('md-lvm'), ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd'], PG);
  t.deepEqual(role('sda'), {
    role: 'redundant',
    targets: ['pg-main'],
    paths: ['/var/lib/postgresql/15/main'],
    reason: 'a member of md0 (raid1), which keeps its data without it (2 of 2 members in sync)',
  });
  t.is(role('sdb').role, 'redundant', 'write_mostly,in_sync is in sync');
  t.is(role('sdc').reason, 'carries /, swap /dev/sdc2 (no database data)');
  t.is(role('sdd').role, 'unused');
});

test('a degraded RAID 1: the member left is data, the faulty one costs nothing more', async (t) => {
  const role = roles(await tree('md-degraded'), ['/dev/sda', '/dev/sdb'], [{ target: 'maria', paths: ['/var/lib/mysql'] }]);
  t.is(role('sda').role, 'data');
  t.is(role('sda').reason, 'holds /var/lib/mysql of maria (md0 on sda1 on sda); md0 has no redundancy left: 1 of 2 members in sync');
  t.is(role('sdb').role, 'redundant');
  t.is(role('sdb').reason, 'a member of md0 (raid1), which keeps its data without it (sdb1 is faulty; 1 of 2 members in sync)');
});

test('the same array once degraded: a member that was redundant becomes data', async (t) => {
  const storage = await tree('md-lvm');
  const md = storage.devices.find((d) => d.name === 'md0')!.md!;
  md.members[1]!.state = ['faulty'];
  md.degraded = 1;
  const role = roles(storage, ['/dev/sda'], PG);
  t.is(role('sda').role, 'data');
  t.is(role('sda').reason, 'holds /var/lib/postgresql/15/main of pg-main (dm-0 (vg0-pg) on md0 on sda1 on sda); md0 has no redundancy left: 1 of 2 members in sync');
});

test('dm-crypt on a partition: the disk under it is data; a swap file counts on its file system', async (t) => {
  const role = roles(await tree('crypt'), ['/dev/sda', '/dev/sdb'], [{ target: 'maria', paths: ['/srv/mysql'] }]);
  t.is(role('sdb').reason, 'holds /srv/mysql of maria (dm-0 (mysql_crypt) on sdb1 on sdb)');
  t.is(role('sda').reason, 'carries /, swap /swap file (no database data)');
});

test('a data path on NFS or tmpfs cannot be tied to a disk: disks with something on them are unknown, an empty disk unused', async (t) => {
  const role = roles(await tree('nvme'), ['/dev/nvme0', '/dev/nvme2'], [{ target: 'pg-main', paths: ['/var/lib/pg backups/main'] }]);
  t.deepEqual(role('nvme0'), {
    role: 'unknown',
    targets: ['pg-main'],
    paths: [],
    reason: 'where pg-main keeps its data is not known: /var/lib/pg backups/main is on nfs4 (backup.example.com:/export/pg backups), not on a block device',
  });
  t.is(role('nvme2').role, 'unused');
});

test('an unknown location: unknown, unless the disk carries nothing; a known data disk stays data', async (t) => {
  const role = roles(await tree('md-lvm'), ['/dev/sda', '/dev/sdc', '/dev/sdd'], [], {
    unknownLocations: [{ target: 'pg-main', why: 'permission denied for data_directory' }],
  });
  t.deepEqual(role('sdc'), { role: 'unknown', targets: ['pg-main'], paths: [], reason: 'where pg-main keeps its data is not known: permission denied for data_directory' });
  t.is(role('sda').role, 'unknown', 'an md member carries something even if nothing is mounted from it directly');
  t.is(role('sdd').role, 'unused');
  const mixed = roles(await tree('md-degraded'), ['/dev/sda'], [{ target: 'maria', paths: ['/var/lib/mysql'] }], {
    unknownLocations: [{ target: 'pg-main', why: 'not connected yet' }],
  });
  t.is(mixed('sda').role, 'data');
});

test('no tree: every disk is unknown, with the collector\'s problem as the reason', (t) => {
  const role = roles(undefined, ['/dev/sda'], PG, { storageProblem: "cannot read /sys/block (ENOENT): the disks' roles are unknown" });
  t.deepEqual(role('sda'), { role: 'unknown', targets: ['pg-main'], paths: [], reason: "cannot read /sys/block (ENOENT): the disks' roles are unknown" });
});

test('btrfs reports 0:NN: the device is found by the mount source', (t) => {
  const storage: StorageReading = {
    devices: [
      { name: 'sdb', dev: '8:16', kind: 'disk', parents: [], holders: [] },
      { name: 'sdb1', dev: '8:17', kind: 'partition', parents: ['sdb'], holders: [] },
    ],
    mounts: [{ dev: '0:44', mountPoint: '/data', fsType: 'btrfs', source: '/dev/sdb1' }],
    swaps: [],
  };
  t.is(roles(storage, ['/dev/sdb'], [{ target: 'pg', paths: ['/data/pg'] }])('sdb').role, 'data');
});

test('longest mount point prefix on a segment boundary', (t) => {
  const mounts = ['/', '/var', '/var/lib/post', '/var/lib/postgresql/15'].map((mountPoint, i) => ({ dev: `8:${i}`, mountPoint, fsType: 'ext4', source: `/dev/sd${i}` }));
  t.is(mountFor(mounts, '/var/lib/postgresql')!.mountPoint, '/var');
  t.is(mountFor(mounts, '/var/lib/postgresql/15/main')!.mountPoint, '/var/lib/postgresql/15');
  t.is(mountFor(mounts, '/var/lib/post/x')!.mountPoint, '/var/lib/post');
  t.is(mountFor(mounts, '/variable')!.mountPoint, '/');
  t.is(mountFor(mounts, '/var/')!.mountPoint, '/var');
  const stacked = [...mounts, { dev: '0:99', mountPoint: '/var', fsType: 'tmpfs', source: 'tmpfs' }];
  t.is(mountFor(stacked, '/var/log')!.fsType, 'tmpfs', 'the later mount on the same point is on top');
});

test('RAID levels: what an array survives', (t) => {
  const array = (level: string, states: string[][], degraded = 0): StorageReading => ({
    devices: [
      ...states.flatMap((_, i) => [
        { name: `sd${'abcd'[i]}`, dev: `8:${i * 16}`, kind: 'disk' as const, parents: [], holders: [`sd${'abcd'[i]}1`] },
        { name: `sd${'abcd'[i]}1`, dev: `8:${i * 16 + 1}`, kind: 'partition' as const, parents: [`sd${'abcd'[i]}`], holders: ['md0'] },
      ]),
      {
        name: 'md0',
        dev: '9:0',
        kind: 'md',
        parents: states.map((_, i) => `sd${'abcd'[i]}1`),
        holders: [],
        md: { level, raidDisks: states.length, degraded, arrayState: 'clean', members: states.map((state, i) => ({ name: `sd${'abcd'[i]}1`, state })) },
      },
    ],
    mounts: [{ dev: '9:0', mountPoint: '/db', fsType: 'xfs', source: '/dev/md0' }],
    swaps: [],
  });
  const ok = ['in_sync'];
  const roleOfSda = (reading: StorageReading) => roles(reading, ['/dev/sda'], [{ target: 'db', paths: ['/db'] }])('sda').role;
  t.is(roleOfSda(array('raid5', [ok, ok, ok])), 'redundant');
  t.is(roleOfSda(array('raid5', [ok, ok, ['faulty']], 1)), 'data');
  t.is(roleOfSda(array('raid6', [ok, ok, ok, ['faulty']], 1)), 'redundant');
  t.is(roleOfSda(array('raid10', [ok, ok, ok, ok])), 'redundant');
  t.is(roleOfSda(array('raid10', [ok, ok, ok, ['faulty']], 1)), 'data', 'which pairs remain is not visible');
  t.is(roleOfSda(array('raid0', [ok, ok])), 'data');
  t.is(roleOfSda(array('linear', [ok, ok])), 'data');
  t.is(roleOfSda(array('raid1', [ok, ['spare']], 1)), 'data', 'a spare carries no data');
});
