import test from 'ava';
import { blockKind, decodeOctalEscapes, dmKind, parseMemberState, parseMountinfo, parseSwaps, StorageParseError } from '../../../src/collectors/storage/parse.js';

test('mountinfo: optional fields of any number, and octal escapes in mount point and source', (t) => {
  const text = [
    '27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
    '33 27 0:28 / /var/lib/pg\\040backups rw shared:32 master:7 - nfs4 host:/pg\\040backups rw',
    '34 27 9:0 / /srv/tab\\011and\\134slash rw - ext4 /dev/md0 rw',
    '35 27 0:40 /@data /data rw - btrfs /dev/sdb1 rw,subvol=/@data',
  ].join('\n');
  t.deepEqual(parseMountinfo(text), [
    { dev: '8:1', mountPoint: '/', fsType: 'ext4', source: '/dev/sda1' },
    { dev: '0:28', mountPoint: '/var/lib/pg backups', fsType: 'nfs4', source: 'host:/pg backups' },
    { dev: '9:0', mountPoint: '/srv/tab\tand\\slash', fsType: 'ext4', source: '/dev/md0' },
    { dev: '0:40', mountPoint: '/data', fsType: 'btrfs', source: '/dev/sdb1' },
  ]);
});

test('mountinfo: a line without the separator is an error that quotes it', (t) => {
  const err = t.throws(() => parseMountinfo('27 1 8:1 / / rw ext4 /dev/sda1 rw'), { instanceOf: StorageParseError });
  t.regex(err!.message, /unexpected line "27 1 8:1/);
});

test('swaps: device paths and files, escapes decoded; only a header means none', (t) => {
  const header = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority';
  t.deepEqual(parseSwaps(`${header}\n/dev/sdc2  partition\t4194300\t0\t-2\n/swap\\040file  file\t1024\t0\t-3\n`), ['/dev/sdc2', '/swap file']);
  t.deepEqual(parseSwaps(header), []);
  t.deepEqual(parseSwaps(''), []);
  t.throws(() => parseSwaps('garbage\n'), { instanceOf: StorageParseError });
});

test('kinds by kernel name, dm kinds by uuid prefix, member states split', (t) => {
  t.deepEqual(['sda', 'nvme0n1', 'md0', 'md127', 'dm-3', 'loop7', 'zram0', 'vda'].map(blockKind), ['disk', 'disk', 'md', 'md', 'dm', 'loop', 'disk', 'disk']);
  t.is(dmKind('CRYPT-LUKS2-6f1c-mysql_crypt'), 'crypt');
  t.is(dmKind('LVM-abc'), 'lvm');
  t.is(dmKind('mpath-3600508b'), 'other');
  t.is(dmKind(undefined), 'other');
  t.deepEqual(parseMemberState('write_mostly,in_sync\n'), ['write_mostly', 'in_sync']);
  t.is(decodeOctalEscapes('a\\040b\\012'), 'a b\n');
});
