import { readFileSync } from 'node:fs';

/** The version in package.json, which sits two levels above dist/src/ wherever it is installed. */
export function agentVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
