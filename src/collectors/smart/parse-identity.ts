/**
 * Who the disk is: model, serial, WWN, firmware, capacity, rotation rate, form factor.
 * ATA and NVMe: `model_name`, `serial_number`, `firmware_version`, `wwn` (ataprint.cpp,
 * nvmeprint.cpp). SCSI: `scsi_vendor`/`scsi_product`/`scsi_model_name`/`scsi_revision` since
 * smartctl 7.3, `vendor`/`product`/`revision` before; the WWN is the `logical_unit_id` string.
 */
import { at, badField, bounded, MAX_LENGTH, optAmount, optCount, optInteger, optObject, optString, type Obj } from './json-fields.js';
import type { DiskIdentity, Protocol } from './reading.js';

/**
 * ATA IDENTIFY words 108–111, as smartctl splits them: NAA (4 bits), IEEE OUI (24 bits) and
 * vendor-specific id (36 bits), which make the 64-bit WWN "5000cca37fd0c3a8".
 */
function ataWwn(root: Obj): string | undefined {
  const wwn = optObject(root, 'wwn', '');
  if (wwn === undefined) return undefined;
  const naa = optInteger(wwn, 'naa', 'wwn', 0, 0xf);
  const oui = optInteger(wwn, 'oui', 'wwn', 0, 0xffffff);
  const id = optInteger(wwn, 'id', 'wwn', 0, 2 ** 36 - 1);
  if (naa === undefined || oui === undefined || id === undefined) throw badField('wwn', 'naa, oui and id', wwn);
  if (oui === 0 && id === 0) return undefined; // not set by the drive: not an identity
  return naa.toString(16) + oui.toString(16).padStart(6, '0') + id.toString(16).padStart(9, '0');
}

/** SCSI VPD page 0x83 NAA designator, printed as "0x5000c500a1b2c3d4" (8 or 16 bytes). */
function scsiWwn(root: Obj): string | undefined {
  const lu = optString(root, 'logical_unit_id', '');
  const match = lu === undefined ? null : /^0x([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/.exec(lu.trim());
  if (match === null || /^0+$/.test(match[1]!)) return undefined;
  return match[1]!.toLowerCase();
}

function text(root: Obj, key: string): string | undefined {
  const value = optString(root, key, '')?.trim();
  return value === '' ? undefined : value;
}

function scsiModel(root: Obj, vendor: string | undefined): string | undefined {
  const named = text(root, 'scsi_model_name') ?? text(root, 'model_name');
  if (named !== undefined) return named;
  const product = text(root, 'scsi_product') ?? text(root, 'product');
  if (product === undefined) return vendor;
  return vendor === undefined ? product : `${vendor} ${product}`;
}

/**
 * Capacity in bytes. NVMe: the controller's total NVM capacity (tnvmcap) when the drive reports
 * it (0 means "not reported": namespace management unsupported), else the namespace size.
 */
function capacity(root: Obj, protocol: Protocol): number | undefined {
  if (protocol === 'nvme') {
    const total = optAmount(root, 'nvme_total_capacity', '');
    if (total !== undefined && total > 0) return total;
  }
  const user = optObject(root, 'user_capacity', '');
  return user && optAmount(user, 'bytes', 'user_capacity');
}

export function parseIdentity(root: Obj, protocol: Protocol): DiskIdentity {
  const identity: DiskIdentity = {};
  const vendor = protocol === 'scsi' ? text(root, 'scsi_vendor') ?? text(root, 'vendor') : undefined;
  const model = protocol === 'scsi' ? scsiModel(root, vendor) : text(root, 'model_name');
  const serial = text(root, 'serial_number');
  const wwn = ataWwn(root) ?? (protocol === 'scsi' ? scsiWwn(root) : undefined);
  const firmware = text(root, 'firmware_version') ?? text(root, 'scsi_revision') ?? text(root, 'revision');
  const bytes = capacity(root, protocol);
  // 0 is smartctl's "Solid State Device"; otherwise revolutions per minute.
  const rpm = optCount(root, 'rotation_rate', '');
  const formFactorObj = optObject(root, 'form_factor', '');
  const formFactor = formFactorObj && optString(formFactorObj, 'name', at('', 'form_factor'));
  if (model !== undefined) identity.model = model;
  if (serial !== undefined) identity.serial = serial;
  if (wwn !== undefined) identity.wwn = wwn;
  if (firmware !== undefined) identity.firmware = firmware;
  if (vendor !== undefined) identity.vendor = vendor;
  if (bytes !== undefined) identity.capacityBytes = bytes;
  if (rpm !== undefined) identity.rotationRateRpm = rpm;
  if (formFactor !== undefined && formFactor !== '') identity.formFactor = formFactor;
  return identity;
}

/**
 * The identity with every string cut to MAX_LENGTH.identity, as the rest of harbinger sees it.
 * parseIdentity's full strings are kept only for the disk id (disk-id.ts), which hashes what it cuts.
 */
export function boundIdentity(full: DiskIdentity): DiskIdentity {
  const identity: DiskIdentity = { ...full };
  for (const key of ['model', 'serial', 'firmware', 'vendor', 'formFactor'] as const) {
    const value = full[key];
    if (value !== undefined) identity[key] = bounded(value, MAX_LENGTH.identity);
  }
  return identity;
}
