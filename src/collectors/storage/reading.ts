/**
 * What the storage collector reads: the block device tree (`/sys/block`), the mounts
 * (`/proc/self/mountinfo`) and the swap areas (`/proc/swaps`). The balance module maps SMART
 * disks onto it to learn which disk carries the database's data.
 */

export type BlockDeviceKind = 'disk' | 'partition' | 'md' | 'dm' | 'loop';

export interface MdMember {
  /** Kernel name of the member device (`sda1`). */
  name: string;
  /** `md/dev-<name>/state` split at commas: `in_sync`, `faulty`, `spare`, `write_mostly`… */
  state: string[];
}

export interface MdArray {
  /** `raid1`, `raid5`, `raid6`, `raid10`, `raid0`, `linear`…; empty when the file is missing. */
  level: string;
  raidDisks: number;
  /** Members missing from the array (`md/degraded`). */
  degraded: number;
  arrayState: string;
  /** `idle`, `resync`, `recover`, `check`…; absent for levels without redundancy. */
  syncAction?: string;
  members: MdMember[];
}

export interface BlockDevice {
  /** Kernel name: `sda`, `sda1`, `nvme0n1`, `md0`, `dm-0`, `loop3`. */
  name: string;
  /** `MAJ:MIN` as in mountinfo; empty when the `dev` file could not be read. */
  dev: string;
  kind: BlockDeviceKind;
  /** Devices this one is built on: a partition's disk; an md's or dm's `slaves/`. */
  parents: string[];
  /** Devices built on this one (`holders/`): an md array, a dm mapping. */
  holders: string[];
  dm?: { name: string; kind: 'crypt' | 'lvm' | 'other' };
  md?: MdArray;
}

export interface Mount {
  /** `MAJ:MIN` of the file system's device (btrfs and network file systems report 0:NN). */
  dev: string;
  mountPoint: string;
  fsType: string;
  /** The mount source: `/dev/sda1`, `/dev/mapper/vg-pg`, `tmpfs`, `server:/export`. */
  source: string;
}

export interface StorageReading {
  devices: BlockDevice[];
  mounts: Mount[];
  /** Swap areas: device paths (`/dev/sda2`, `/dev/dm-1`) or files (`/swapfile`). */
  swaps: string[];
}
