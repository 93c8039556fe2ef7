/**
 * The published rules the predictor is measured against, on the same drives in the same run. Each
 * reads the raw SMART values as the data set has them (what the rule's authors read), plus the
 * drive's own health verdict where it is known (Backblaze's files do not carry it).
 *
 * - backblaze_rule: any of SMART 5, 187, 188, 197, 198 raw > 0 (Backblaze, "What SMART Stats
 *   Tell Us About Hard Drives", 2016).
 * - smartd_default: smartd's default ATA checks (smartd.conf(5) `DEVICESCAN` = `-a`): `-H` a failed
 *   health status, `-C 197` and `-U 198` a non-zero current pending / offline uncorrectable count.
 * - scrutiny: Scrutiny's observed-threshold check on its "critical" ATA attributes 5, 10, 187, 188,
 *   196, 197, 198 (AnalogJ/scrutiny webapp/backend/pkg/thresholds/ata_attribute_metadata.go @
 *   0e859ecb, applied as in pkg/models/measurements/smart_ata_attribute.go ValidateThreshold): the
 *   raw value's bucket has an annual failure rate ≥ 10% → failed. Buckets are matched as Scrutiny
 *   matches them, quirks included: a bucket with low == high holds only that value, the others are
 *   (low, high], and a value in no bucket (e.g. 197 = 1, or beyond the last bucket) is only a
 *   warning, not a failure. Plus a failed health status (Scrutiny's "failed SMART").
 */

export type BaselineName = 'backblaze_rule' | 'smartd_default' | 'scrutiny';
export const BASELINE_NAMES: readonly BaselineName[] = ['backblaze_rule', 'smartd_default', 'scrutiny'];

export interface BaselineInput {
  raw: Partial<Record<number, number>>;
  smartPassed?: boolean;
}

type Bucket = readonly [low: number, high: number, annualFailureRate: number];

/** Scrutiny's observed thresholds for its critical attributes (annual failure rates rounded to 4 places). */
export const SCRUTINY_CRITICAL: Readonly<Record<number, readonly Bucket[]>> = {
  5: [[0, 0, 0.0252], [0, 4, 0.0274], [4, 16, 0.075], [16, 70, 0.2359], [70, 260, 0.3619], [260, 1100, 0.5677], [1100, 4500, 1.5028], [4500, 17000, 2.066], [17000, 70000, 1.7755]],
  10: [[0, 0, 0.0546], [1, 80, 0.5556]],
  187: [[0, 0, 0.0281], [1, 1, 0.3388], [1, 3, 0.2406], [3, 6, 0.5014], [6, 11, 0.3801], [11, 20, 0.5346], [20, 35, 0.8428], [35, 65, 1.4429], [65, 120, 1.6191]],
  188: [
    [0, 100, 0.0249], [100, 13e9, 0.10044], [13e9, 26e9, 0.334], [26e9, 39e9, 0.3672], [39e9, 52e9, 0.2985],
    [52e9, 65e9, 0.2203], [65e9, 78e9, 0.3018], [78e9, 91e9, 0.3285], [91e9, 104e9, 0.2849],
  ],
  196: [[0, 0, 0.0074], [1, 1, 0.0266], [1, 2, 0.0247], [2, 4, 0.032], [4, 7, 0.0431], [7, 11, 0.0338], [11, 17, 0.1698], [17, 27, 0.059], [27, 45, 0.247]],
  197: [[0, 0, 0.0255], [1, 2, 0.342], [2, 6, 0.6824], [6, 16, 0.6108], [16, 40, 0.9565], [40, 100, 1.652], [100, 250, 2.5138], [250, 650, 3.3203], [650, 1600, 3.133]],
  198: [[0, 0, 0.0287], [1, 2, 0.8136], [2, 4, 1.1173], [4, 6, 1.3559], [6, 8, 0.7324], [8, 10, 0.5777], [10, 12, 1.7464], [12, 14, 2.6449], [14, 16, 0.797]],
};

/** Scrutiny's verdict on one critical attribute value: failed when its bucket's rate is ≥ 10%. */
export function scrutinyAttributeFails(id: number, value: number): boolean {
  for (const [low, high, rate] of SCRUTINY_CRITICAL[id] ?? []) {
    if ((low === high && value === low) || (low < value && value <= high)) return rate >= 0.1;
  }
  return false;
}

const SCRUTINY_IDS = Object.keys(SCRUTINY_CRITICAL).map(Number);
const positive = (v: number | undefined): boolean => v !== undefined && v > 0;

export const BASELINES: Readonly<Record<BaselineName, (input: BaselineInput) => boolean>> = {
  backblaze_rule: ({ raw }) => positive(raw[5]) || positive(raw[187]) || positive(raw[188]) || positive(raw[197]) || positive(raw[198]),
  smartd_default: ({ raw, smartPassed }) => smartPassed === false || positive(raw[197]) || positive(raw[198]),
  scrutiny: ({ raw, smartPassed }) =>
    smartPassed === false ||
    SCRUTINY_IDS.some((id) => {
      const value = raw[id];
      return value !== undefined && scrutinyAttributeFails(id, value);
    }),
};
