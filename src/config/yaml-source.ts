import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type Pair } from 'yaml';
import { ConfigError, type ConfigProblem } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML file that can say on which line a key (or its value) stands. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Position of the key at `path` (or, for the document root, its first line). */
  locate(path: readonly (string | number)[]): Position | undefined;
}

/**
 * Reads and parses a YAML file. Syntax errors become ConfigErrors with line and column; a missing
 * or unreadable file becomes one problem naming the file and the OS error.
 */
export async function readYamlSource(file: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ key: '', source: file, message: `cannot read the file (${code})` }]);
  }
  return parseYamlSource(text, file);
}

/**
 * How many aliases a file may expand. Harbinger's own files need none; a small number lets a
 * sysadmin share a block (`<<: *defaults`), while nested aliases ("billion laughs") that would
 * expand to millions of nodes are refused instead of exhausting the agent's memory.
 */
export const MAX_ALIAS_COUNT = 100;

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below: the library compares each key with every key before it, which
  // takes minutes for a mapping of tens of thousands of keys.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true });
  const toPosition = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const problems: ConfigProblem[] = doc.errors.map((e) => {
    const pos = e.linePos?.[0];
    return {
      key: '',
      source: file,
      message: `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    };
  });
  if (problems.length === 0) {
    visit(doc, {
      Map(_, map) {
        const keys = new Set<unknown>();
        for (const pair of map.items) {
          const key = pair.key as Node | null;
          if (!isScalar(key)) continue;
          if (keys.has(key.value)) {
            problems.push({ key: '', source: file, message: 'invalid YAML: Map keys must be unique', ...(key.range ? toPosition(key.range[0]) : {}) });
          }
          keys.add(key.value);
        }
      },
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    const message = /Excessive alias count/.test((err as Error).message)
      ? `uses more than ${MAX_ALIAS_COUNT} aliases (alias expansion); refused`
      : `invalid YAML: ${(err as Error).message.split('\n')[0]}`;
    throw new ConfigError([{ key: '', source: file, message }]);
  }
  // Each mapping's keys, indexed when first asked for: one lookup per problem, not one scan.
  const indexes = new WeakMap<object, Map<string, Pair>>();
  const pairOf = (map: { items: Pair[] }, key: string): Pair | undefined => {
    let index = indexes.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        const k = pair.key as Node | null;
        const name = isScalar(k) ? String(k.value) : undefined;
        if (name !== undefined && !index.has(name)) index.set(name, pair);
      }
      indexes.set(map, index);
    }
    return index.get(key);
  };
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const child = (node: unknown, key: string): unknown => {
    const n = deref(node);
    if (isMap(n)) return pairOf(n, key)?.value;
    if (isSeq(n) && /^[0-9]+$/.test(key)) return n.items[Number(key)];
    return undefined;
  };
  return {
    file,
    value,
    locate(keys) {
      if (keys.length === 0) return toPosition(0);
      const path = keys.map(String);
      let parent: unknown = doc.contents;
      for (const key of path.slice(0, -1)) parent = child(parent, key);
      parent = deref(parent);
      const last = path[path.length - 1]!;
      if (isMap(parent)) {
        const key = pairOf(parent, last)?.key as Node | null | undefined;
        if (isScalar(key) && key.range) return toPosition(key.range[0]);
      }
      const node = deref(child(parent, last)) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        return toPosition(node.range[0]);
      }
      return undefined;
    },
  };
}
