/**
 * A model file for `harbinger evaluate --model FILE`: the weights scripts/train-model.mjs writes
 * (`--out`), scored in place of the shipped model. So a retrained or changed model is measured by
 * the same command, on the same drives, as the one harbinger ships, without rebuilding the agent.
 */
import { readFile } from 'node:fs/promises';
import { loadModel, type Model, type ModelFile } from '../model.js';
import { DataFileError, fileProblem } from './backblaze-csv.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is missing from a parsed file for loadModel() to read it (its own checks then follow). */
function shapeProblem(file: unknown): string | undefined {
  if (!isRecord(file)) return 'not a JSON object';
  if (!Array.isArray(file.features) || !file.features.every((f) => typeof f === 'string')) return '"features" is not a list of feature names';
  if (typeof file.base !== 'number') return '"base" is not a number';
  if (!isRecord(file.operatingPoint)) return '"operatingPoint" is missing';
  const rates = file.modelFailureRates;
  if (rates !== undefined && !(isRecord(rates) && typeof rates.unknown === 'number' && isRecord(rates.rates))) return '"modelFailureRates" needs "unknown" (a number) and "rates" (by model)';
  if (!Array.isArray(file.trees) || file.trees.length === 0) return '"trees" is not a list of trees';
  const arrays = ['feature', 'threshold', 'left', 'right', 'value'];
  const bad = file.trees.findIndex((tree) => !isRecord(tree) || !arrays.every((k) => Array.isArray(tree[k]) && (tree[k] as unknown[]).every((v) => typeof v === 'number')));
  if (bad >= 0) return `tree ${bad} lacks one of ${arrays.join(', ')} as lists of numbers`;
  return undefined;
}

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
    throw new DataFileError(`${file}: not JSON (${why}); --model takes a file written by scripts/train-model.mjs --out`);
  }
  const problem = shapeProblem(parsed);
  if (problem !== undefined) throw new DataFileError(`${file}: not a harbinger model: ${problem}; --model takes a file written by scripts/train-model.mjs --out`);
  try {
    return loadModel(parsed as ModelFile);
  } catch (err) {
    throw new DataFileError(`${file}: not a harbinger model: ${(err as Error).message.replace(/^model: /, '')}`);
  }
}
