#!/bin/sh
# Copies from a live host exactly the files harbinger's storage collector reads, so a layout can
# be replayed with `--path.sysfs OUT/sys --path.procfs OUT/proc` or added as a test fixture:
#   <sysfs>/block/*/{dev,partition}, holders/ and slaves/ (as empty files named after each entry),
#   dm/{name,uuid}, md/{level,raid_disks,degraded,array_state,sync_action,dev-*/state},
#   the same for every partition, <procfs>/self/mountinfo and <procfs>/swaps.
# Usage: scripts/record-storage-tree.sh OUT_DIR [SYSFS (/sys)] [PROCFS (/proc)]
# Read-only on the host; needs no privileges on most systems. Review mountinfo before sharing it:
# it lists every mount point.
set -eu

out=${1:?usage: record-storage-tree.sh OUT_DIR [SYSFS] [PROCFS]}
sysfs=${2:-/sys}
procfs=${3:-/proc}

copy() { # copy SRC DST: a file, if it exists and can be read
  if [ -r "$1" ]; then mkdir -p "$(dirname "$2")" && cat "$1" >"$2"; fi
}

names() { # names SRCDIR DSTDIR: symlinks in SRCDIR become empty files of the same name
  mkdir -p "$2"
  for entry in "$1"/*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    : >"$2/$(basename "$entry")"
  done
}

device() { # device SRCDIR DSTDIR: the attributes of one device or partition
  copy "$1/dev" "$2/dev"
  copy "$1/partition" "$2/partition"
  [ -d "$1/holders" ] && names "$1/holders" "$2/holders"
  [ -d "$1/slaves" ] && names "$1/slaves" "$2/slaves"
  copy "$1/dm/name" "$2/dm/name"
  copy "$1/dm/uuid" "$2/dm/uuid"
  if [ -d "$1/md" ]; then
    for attr in level raid_disks degraded array_state sync_action; do copy "$1/md/$attr" "$2/md/$attr"; done
    for member in "$1"/md/dev-*; do
      [ -d "$member" ] && copy "$member/state" "$2/md/$(basename "$member")/state"
    done
  fi
  return 0
}

[ -d "$sysfs/block" ] || { echo "record-storage-tree: $sysfs/block is not a directory" >&2; exit 1; }
mkdir -p "$out/sys/block" "$out/proc/self"
for disk in "$sysfs"/block/*; do
  name=$(basename "$disk")
  device "$disk" "$out/sys/block/$name"
  for part in "$disk"/*/; do
    part=${part%/}
    [ -f "$part/partition" ] && device "$part" "$out/sys/block/$name/$(basename "$part")"
  done
done
copy "$procfs/self/mountinfo" "$out/proc/self/mountinfo"
copy "$procfs/swaps" "$out/proc/swaps"
echo "recorded $(ls "$out/sys/block" | wc -l) devices into $out"
