/**
 * The deterministic by-drive split the predictor is tuned on. A drive is on one side only, in every
 * file (consecutive days of one drive are near-duplicates: splitting rows would leak). FNV-1a
 * (32-bit) of the serial number's UTF-8 bytes; buckets 0–29 of 100 are held out (30%), the rest is
 * the training side. scripts/train-model.mjs trains on `train` only; `evaluate --split holdout`
 * scores the drives it never saw.
 */

export type Split = 'all' | 'holdout' | 'train';
export const SPLITS: readonly Split[] = ['all', 'holdout', 'train'];
export const HOLDOUT_PERCENT = 30;

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function sideOf(serial: string): 'holdout' | 'train' {
  return fnv1a32(serial) % 100 < HOLDOUT_PERCENT ? 'holdout' : 'train';
}

export function inSplit(serial: string, split: Split): boolean {
  return split === 'all' || sideOf(serial) === split;
}

export function parseSplit(text: string): Split {
  if ((SPLITS as readonly string[]).includes(text)) return text as Split;
  throw new Error(`--split must be one of ${SPLITS.join(', ')}, not ${JSON.stringify(text)}`);
}
