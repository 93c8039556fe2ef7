/**
 * A model file for `harbinger evaluate --model FILE`: the weights scripts/train-model.mjs writes
 * (`--out`), scored in place of the shipped model. So a retrained or changed model is measured by
 * the same command, on the same drives, as the one harbinger ships, without rebuilding the agent.
 */
import { readFile } from 'node:fs/promises';
import { compileSchema } from '../../config/schema-problems.js';
import { loadModel, type Model, type ModelFile } from '../model.js';
import { DataFileError, fileProblem } from './backblaze-csv.js';

const numbers = { type: 'array', items: { type: 'number' } } as const;

/** What loadModel() reads without checking it (it checks the format, the trees' links and the operating points). */
const MODEL_FILE_SCHEMA = {
  type: 'object',
  required: ['format', 'features', 'base', 'trees', 'operatingPoint'],
  properties: {
    format: { type: 'string' },
    features: { type: 'array', items: { type: 'string' } },
    featureDefaults: { type: 'object', additionalProperties: { type: 'number' } },
    modelFailureRates: {
      type: 'object',
      required: ['unknown', 'rates'],
      properties: { unknown: { type: 'number' }, rates: { type: 'object', additionalProperties: { type: 'number' } } },
    },
    base: { type: 'number' },
    trees: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['feature', 'threshold', 'left', 'right', 'value'], properties: { feature: numbers, threshold: numbers, left: numbers, right: numbers, value: numbers } },
    },
    operatingPoint: {
      type: 'object',
      required: ['watch', 'degraded', 'failing'],
      properties: { watch: { type: 'number' }, degraded: { type: 'number' }, failing: { type: 'number' } },
    },
    training: { type: 'object' },
  },
} as const;

const SHOWN_PROBLEMS = 3;
const HINT = '--model takes a file written by scripts/train-model.mjs --out';

/** The model in `file`; a DataFileError naming the file and what is wrong with it. */
export async function readModelFile(file: string): Promise<Model> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileProblem(file, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the start of the text, line ends included: the error stays one line.
    const why = (err as Error).message.replace(/\s+/g, ' ');
    throw new DataFileError(`${file}: not JSON (${why}); ${HINT}`);
  }
  const validate = compileSchema<ModelFile>(MODEL_FILE_SCHEMA);
  if (!validate(parsed)) {
    const errors = validate.errors ?? [];
    const shown = errors.slice(0, SHOWN_PROBLEMS).map((e) => `${e.instancePath === '' ? 'the file' : e.instancePath} ${e.message ?? 'is not valid'}`);
    const more = errors.length > SHOWN_PROBLEMS ? ` (and ${errors.length - SHOWN_PROBLEMS} more)` : '';
    throw new DataFileError(`${file}: not a harbinger model: ${shown.join('; ')}${more}; ${HINT}`);
  }
  try {
    return loadModel(parsed);
  } catch (err) {
    throw new DataFileError(`${file}: not a harbinger model: ${(err as Error).message.replace(/^model: /, '')}`);
  }
}
