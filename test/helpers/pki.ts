import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  /** PEM contents by name: ca, server, client (signed by ca), rogue (self-signed); `.crt` and `.key`. */
  pem: (name: string) => Promise<Buffer>;
}

/** A throwaway CA, server cert (localhost, 127.0.0.1) and client certs, made with the openssl CLI. */
export async function pki(t: ExecutionContext): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  await openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=harbinger test CA');
  for (const [name, san, usage] of [
    ['server', 'DNS:localhost,IP:127.0.0.1', 'serverAuth'],
    ['client', 'DNS:scraper.example,IP:::1', 'clientAuth'],
  ] as const) {
    await writeFile(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    await openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
  }
  await openssl('req', '-x509', ...ec, '-keyout', 'rogue.key', '-out', 'rogue.crt', '-subj', '/CN=rogue', '-addext', 'subjectAltName=DNS:scraper.example');
  return { dir, pem: (name) => readFile(join(dir, name)) };
}
