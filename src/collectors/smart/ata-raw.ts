/**
 * Decoding of ATA SMART attribute raw values that vendors pack several numbers into.
 *
 * smartctl's JSON gives each attribute two renderings of its 6 raw bytes (ataprint.cpp):
 * `raw.value`, the bytes as one integer (up to 64 bits when the drive database's byte order
 * takes in the reserved or normalized bytes, so it can be beyond 2^53), and `raw.string`, the
 * value formatted by the attribute's raw format from the drive database (drivedb.h) or the
 * default table (atacmds.cpp `get_default_raw_format`, `ata_format_attr_raw_value`).
 * Whenever `raw.string` shows a packed format it is the authority: smartctl already applied the
 * drive database there. Only where it shows a plain number (or is missing) do the rules below
 * take the packing apart with bit arithmetic on the exact value.
 */

const TWO_32 = 2 ** 32;

/** The 48 low bits as three 16-bit words, least significant first (atacmds.cpp `word[0..2]`). */
function words(raw: bigint): [number, number, number] {
  return [Number(raw & 0xffffn), Number((raw >> 16n) & 0xffffn), Number((raw >> 32n) & 0xffffn)];
}

/** The exact raw integer: from a decimal `raw.string` when there is one (JSON.parse rounds above 2^53). */
function exactRaw(value: number | undefined, text: string | undefined): bigint | undefined {
  if (text !== undefined && /^[0-9]{1,25}$/.test(text)) return BigInt(text);
  if (value !== undefined && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

export interface RawInput {
  id: number;
  /** `raw.value`: a finite non-negative number, possibly rounded above 2^53. */
  value?: number;
  /** `raw.string`. */
  text?: string;
  /** A Seagate hard disk (model `ST…` or a Seagate model family, not solid state). */
  seagate: boolean;
}

/**
 * The number an attribute's raw value stands for: a count, hours or a temperature.
 * `undefined` when neither rendering can be read.
 */
export function decodeAtaRaw(input: RawInput): number | undefined {
  const fromText = input.text === undefined ? undefined : decodeRawString(input.id, input.text);
  if (fromText !== undefined) return fromText;
  return decodeRawValue(input);
}

/**
 * smartctl's raw formats (atacmds.cpp `ata_format_attr_raw_value`), rendered back into the number
 * that matters. `undefined` for a plain number (the bit rules decide) or an unknown rendering.
 */
function decodeRawString(id: number, text: string): number | undefined {
  const s = text.trim();
  let m: RegExpExecArray | null;
  // raw24/raw24, raw24/raw32: "errors/operations". This is how Seagate's 1, 7 and 195 print when
  // the drive database entry or a `-v 1,raw24/raw32 -v 7,raw24/raw32` option (which Seagate owners
  // commonly pass) asks for it: the error count comes first ("0/12345678" is a healthy disk).
  if ((m = /^([0-9]+)\/([0-9]+)$/.exec(s))) return Number(m[1]);
  // raw16: three 16-bit counters printed high word first. Seagate's 188 Command_Timeout
  // (drivedb `-v 188,raw16`) keeps three timeout counters; Seagate does not document them, the
  // usual reading is nested classes (all timeouts, those over 5 s, over 7.5 s), so the largest
  // is taken: at least that many commands timed out. Never the 48-bit number (8590065666 for "2 2 2").
  if ((m = /^([0-9]+) ([0-9]+) ([0-9]+)$/.exec(s))) return Math.max(Number(m[1]), Number(m[2]), Number(m[3]));
  // raw16(raw16) (default for 5 Reallocated_Sector_Ct and 196 Reallocated_Event_Count),
  // raw24(raw8) (default for 9 Power_On_Hours), raw16(avg16) (default for 3 Spin_Up_Time):
  // smartctl shows the low word (or 24 bits) as the value and the vendor bytes in brackets.
  if ((m = /^([0-9]+) \([0-9]+ [0-9]+(?: [0-9]+)?\)$/.exec(s))) return Number(m[1]);
  if ((m = /^([0-9]+) \(Average [0-9]+\)$/.exec(s))) return Number(m[1]);
  // Temperatures (tempminmax, the default for 190 and 194): "34 (Min/Max 20/45)",
  // "34 (Min/Max 20/45 #3)", or "34 (0 18 0 0 0)" when smartctl could not place min/max.
  // The current temperature comes first and may be negative (a signed byte).
  if ((m = /^(-?[0-9]+) \((?:Min\/Max -?[0-9]+\/-?[0-9]+(?: #[0-9]+)?|[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+)\)$/.exec(s))) {
    return Number(m[1]);
  }
  if ((id === 190 || id === 194) && (m = /^(-[0-9]+)$/.exec(s))) return Number(m[1]);
  // Durations, decoded to whole hours: msec24hour32 "12345h+23m+10.000s" (Seagate 9 and 240),
  // sec2hour "12h+03m+04s", min2hour "12h+03m" or "12h+03m (5)", halfmin2hour "12h+03m".
  if ((m = /^([0-9]+)h\+[0-9]+m(?:\+[0-9]+(?:\.[0-9]+)?s)?(?: \([0-9]+\))?$/.exec(s))) return Number(m[1]);
  // temp10x: ten times the temperature, printed as "35.5".
  if ((m = /^([0-9]+\.[0-9])$/.exec(s))) return Number(m[1]);
  // hex48/hex56/hex64: the raw value itself, in hex.
  if ((m = /^0x([0-9a-fA-F]{1,16})$/.exec(s))) return Number(BigInt(`0x${m[1]}`));
  return undefined;
}

/** Bit arithmetic on the raw value where `raw.string` did not already decode the packing. */
function decodeRawValue({ id, value, text, seagate }: RawInput): number | undefined {
  const raw = exactRaw(value, text);
  if (raw === undefined) {
    if (value === undefined) return undefined;
    // Beyond 2^53 without a decimal string: the same rules in floating point (low bits may be off).
    if (seagate && (id === 1 || id === 7 || id === 195)) return Math.floor(value / TWO_32) % 65536;
    if (seagate && (id === 9 || id === 240)) return value % TWO_32;
    return value;
  }
  const [w0, w1, w2] = words(raw);
  const plainText = text !== undefined && /^[0-9]+$/.test(text.trim());
  if (seagate) {
    // Seagate packs 1 Raw_Read_Error_Rate, 7 Seek_Error_Rate and 195 Hardware_ECC_Recovered as
    // errors in the upper 16 bits and operations in the lower 32 bits of the 48-bit raw value;
    // most drive database entries print them as raw48, so a young disk shows hundreds of
    // millions (Exos 7E8 ST1000NM000A at 4886 h: 1 = 87494727 = 0x0000_05371047, 0 errors).
    // The error count is the upper word, the split that raw24/raw32 prints.
    if (id === 1 || id === 7 || id === 195) return w2;
    // 188 Command_Timeout: three 16-bit counters (see decodeRawString); entries without
    // `-v 188,raw16` print e.g. 17180131332 (0x0004_0004_0004) for 4 timeouts.
    if (id === 188) return Math.max(w0, w1, w2);
    // 9 and 240 Head_Flying_Hours on newer Seagates are msec24hour32 (drivedb): hours in the low
    // 32 bits, milliseconds in the 24 above (the reserved byte included). Only without a string.
    if (text === undefined && (id === 9 || id === 240)) return Number(raw & 0xffffffffn);
  }
  // A plain decimal string means the drive database chose raw48/raw56/raw64: take it as it is.
  if (plainText) return Number(raw);
  // No string at all: mirror smartctl's default formats (atacmds.cpp get_default_raw_format).
  if (text === undefined) {
    if (id === 5 || id === 196 || id === 3) return w0; // raw16(raw16), raw16(avg16)
    if (id === 9) return Number(raw & 0xffffffn); // raw24(raw8)
    if (id === 190 || id === 194) return Number(BigInt.asIntN(8, raw & 0xffn)); // tempminmax: signed low byte
  }
  return Number(raw);
}
