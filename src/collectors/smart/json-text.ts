/** Turning smartctl's stdout into a JSON object, with errors that say what the text was. */
import { describe, isObj, type Obj } from './json-fields.js';
import { SmartParseError } from './reading.js';

/** JSON text → the top-level object; not_json or not_smartctl otherwise. Shared by the device and scan parsers. */
export function parseJsonObject(text: unknown): Obj {
  if (typeof text !== 'string') throw new SmartParseError('not_json', `expected smartctl's output as text, got ${describe(text)}`);
  if (text.trim() === '') throw new SmartParseError('not_json', 'empty output: smartctl printed nothing');
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    // Truncated output, text mode output, a shell error message: say where it broke.
    const reason = error instanceof Error ? error.message : String(error);
    throw new SmartParseError('not_json', `not JSON (${text.length} characters): ${reason}`);
  }
  if (!isObj(root)) throw new SmartParseError('not_smartctl', `smartctl --json prints an object; this is ${describe(root)}`);
  return root;
}
