import type { Collector } from './collectors/types.js';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export interface Collection<R> {
  /** The reading; rejects with a TimeoutError once the timeout passes. */
  result: Promise<R>;
  /** Resolves when the collector itself returns, which one that ignores its signal may do later. */
  settled: Promise<void>;
  abort(reason: unknown): void;
}

/**
 * One collection with a timeout: at the timeout the collector's signal aborts and `result`
 * rejects, whether or not the collector stops. The daemon's loops and `harbinger check` share it.
 */
export function startCollection<R>(collector: Collector<R>, timeoutMs: number): Collection<R> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`timed out after ${timeoutMs} ms`);
      abort.abort(error);
      reject(error);
    }, timeoutMs);
  });
  // async wrapper: a collector that throws synchronously is a failure like any other.
  const work = (async () => collector.collect(abort.signal))();
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  return {
    result: Promise.race([work, timeout]).finally(() => clearTimeout(timer)),
    settled,
    abort: (reason) => abort.abort(reason),
  };
}
