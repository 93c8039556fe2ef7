import type { ScannedDevice } from './reading.js';

/** A device to read: a path and, optionally, smartctl's `-d` type (`sat`, `megaraid,1`, …). */
export interface DeviceSpec {
  path: string;
  type?: string;
}

/** `/dev/sda`, `/dev/sdb;sat`, `/dev/bus/0;megaraid,1` (smartd.conf and smartctl_exporter spell it so). */
export function parseDeviceSpec(text: string): DeviceSpec {
  const [path, type] = text.split(';', 2).map((s) => s.trim());
  return type ? { path: path!, type } : { path: path! };
}

export const deviceKey = (d: DeviceSpec): string => (d.type ? `${d.path};${d.type}` : d.path);

/**
 * The devices of one round: every explicit device, plus the scanned ones that pass the filters.
 * Include/exclude are regular expressions on the device path (as smartctl_exporter's
 * `--smartctl.device-include`/`-exclude`); an empty include list means all.
 */
export function selectDevices(
  scanned: readonly ScannedDevice[],
  explicit: readonly DeviceSpec[],
  include: readonly RegExp[],
  exclude: readonly RegExp[],
): DeviceSpec[] {
  const chosen = new Map<string, DeviceSpec>();
  for (const d of explicit) chosen.set(deviceKey(d), d);
  const explicitPaths = new Set(explicit.map((d) => d.path));
  for (const s of scanned) {
    if (include.length > 0 && !include.some((r) => r.test(s.name))) continue;
    if (exclude.some((r) => r.test(s.name))) continue;
    // An explicit entry for the same path wins: the sysadmin knows the controller better.
    if (explicitPaths.has(s.name)) continue;
    const spec = { path: s.name, type: s.type };
    chosen.set(deviceKey(spec), spec);
  }
  return [...chosen.values()];
}
