/**
 * smartctl's exit status is a bitmask (smartctl(8), "RETURN VALUES"). Bits 0 and 1 mean smartctl
 * got no data (bad command line; device open or IDENTIFY failed, or the disk is asleep under
 * `-n standby`). Bits 2–7 mean the data it printed is valid and the bits are evidence about it.
 */
import { SmartParseError, type ExitStatus } from './reading.js';

export function decodeExitStatus(raw: number): ExitStatus {
  // A process exit status is one byte; anything else did not come from smartctl.
  if (!Number.isInteger(raw) || raw < 0 || raw > 255) {
    throw new SmartParseError('bad_field', `smartctl.exit_status: expected an integer from 0 to 255, got ${String(raw)}`, 'smartctl.exit_status');
  }
  const bit = (n: number): boolean => (raw & (1 << n)) !== 0;
  return {
    raw,
    commandLineError: bit(0),
    deviceOpenFailed: bit(1),
    commandFailed: bit(2),
    diskFailing: bit(3),
    prefailBelowThreshold: bit(4),
    pastBelowThreshold: bit(5),
    errorLogHasErrors: bit(6),
    selfTestLogHasErrors: bit(7),
  };
}
