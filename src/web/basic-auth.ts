import { compare as bcryptCompare } from 'bcryptjs';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Resolves true when `password` matches the bcrypt `hash`; may reject on a malformed hash. */
export type CompareFn = (password: string, hash: string) => Promise<boolean>;

export interface BasicAuthOptions {
  /** bcrypt compare; injectable so tests can count calls. Default: bcryptjs's compare. */
  compare?: CompareFn;
  /** Successful checks remembered (oldest evicted first). Default 64. */
  cacheSize?: number;
}

export interface Credentials {
  user: string;
  password: string;
}

/**
 * Salt and checksum of a bcrypt hash of a random, discarded password. Unknown users are compared
 * against it (with the cost of the configured hashes) so that answering for them takes as long as
 * for a known user with a wrong password, and response times do not reveal which users exist.
 */
const DUMMY_SALT_AND_CHECKSUM = 'NcjsyZhZppn4toUE.ykLou0BMQz2ZYheafEKvwvco1DTLpSRwSWRa';
const DEFAULT_COST = 10;

/**
 * HTTP Basic authentication against exporter-toolkit's `basic_auth_users` (user → bcrypt hash).
 * bcryptjs takes `$2y$` hashes as they are (htpasswd writes those; same algorithm as `$2b$`).
 */
export class BasicAuth {
  readonly #users: readonly { digest: Buffer; hash: string }[];
  readonly #compare: CompareFn;
  readonly #cacheSize: number;
  readonly #dummyHash: string;
  /**
   * Keys of successful checks, oldest first. Prometheus scrapes every 15 s and a cost-10 bcrypt
   * in JS costs ~100 ms of CPU, so repeating the check for the same credentials is worth avoiding.
   * Keys are SHA-256 digests covering the hash too, so a reload with a new hash misses.
   */
  readonly #cache = new Map<string, true>();

  constructor(users: ReadonlyMap<string, string>, options: BasicAuthOptions = {}) {
    this.#users = [...users].map(([user, hash]) => ({ digest: sha256(user), hash }));
    this.#compare = options.compare ?? ((password, hash) => bcryptCompare(password, hash));
    this.#cacheSize = Math.max(0, options.cacheSize ?? 64);
    const costs = [...users.values()].map((h) => Number(/^\$2[aby]?\$(\d\d)\$/.exec(h)?.[1])).filter((c) => c >= 4 && c <= 31);
    const cost = costs.length ? Math.max(...costs) : DEFAULT_COST;
    this.#dummyHash = `$2b$${String(cost).padStart(2, '0')}$${DUMMY_SALT_AND_CHECKSUM}`;
  }

  /** True when the `Authorization` header carries Basic credentials of a configured user. */
  async check(authorizationHeader: string | undefined): Promise<boolean> {
    const credentials = parseBasicAuthorization(authorizationHeader);
    if (!credentials) return false;
    const { user, password } = credentials;
    const hash = this.#hashOf(user);
    if (hash === undefined) {
      await this.#safeCompare(password, this.#dummyHash);
      return false;
    }
    // A Map lookup is not constant-time, but its key is a digest of the secret, so its timing
    // tells nothing about the password.
    const key = sha256(JSON.stringify([user, password, hash])).toString('hex');
    if (this.#cache.has(key)) {
      this.#cache.delete(key); // re-insert: the scraper in use stays the newest entry
      this.#cache.set(key, true);
      return true;
    }
    if (!(await this.#safeCompare(password, hash))) return false;
    this.#cache.set(key, true);
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#cacheSize) break;
      this.#cache.delete(oldest);
    }
    return true;
  }

  /** Compares the name against every user, without stopping early, so timing does not tell which matched. */
  #hashOf(user: string): string | undefined {
    const digest = sha256(user);
    let found: string | undefined;
    for (const candidate of this.#users) {
      if (timingSafeEqual(candidate.digest, digest)) found ??= candidate.hash;
    }
    return found;
  }

  async #safeCompare(password: string, hash: string): Promise<boolean> {
    try {
      return await this.#compare(password, hash);
    } catch {
      return false; // a malformed hash matches nothing (loadWebConfig rejects those anyway)
    }
  }
}

/** Parses `Basic base64(user:password)` the way Go's net/http does: the password may contain ':'. */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  const match = /^basic +([A-Za-z0-9+/]*={0,2}) *$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
