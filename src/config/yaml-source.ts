import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
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

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems: ConfigProblem[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        key: '',
        source: file,
        message: `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
      };
    });
    throw new ConfigError(problems);
  }
  const toPosition = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return {
    file,
    value: doc.toJS() ?? {},
    locate(keys) {
      if (keys.length === 0) return toPosition(0);
      // Error paths come as strings; list items are addressed by number.
      const path = keys.map((k) => (typeof k === 'string' && /^[0-9]+$/.test(k) ? Number(k) : k));
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      const last = path[path.length - 1];
      if (isMap(parent)) {
        for (const pair of parent.items) {
          const key = pair.key as Node | null;
          if (isScalar(key) && String(key.value) === String(last) && key.range) {
            return toPosition(key.range[0]);
          }
        }
      }
      const node = doc.getIn(path, true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        return toPosition(node.range[0]);
      }
      return undefined;
    },
  };
}
