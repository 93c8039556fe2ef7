import { spawn } from 'node:child_process';

export interface ExecOptions {
  /** Kill the whole process group after this long. */
  timeoutMs: number;
  /** Stop reading and kill the process once stdout passes this many bytes. */
  maxOutputBytes: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  /** null when the process was killed (timeout, overflow, abort) or died on a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** stdout passed maxOutputBytes: what was read is cut off there and the process killed. */
  outputTruncated: boolean;
  aborted: boolean;
  durationMs: number;
}

export type Exec = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** stderr is only for messages: a small fixed bound, whatever maxOutputBytes is. */
const MAX_STDERR_BYTES = 64 * 1024;

/**
 * The one place harbinger starts a process. An argv array (never a shell), its own process
 * group (so a timeout kills the helpers a tool may have forked, not just the tool), a hard
 * timeout, and bounded output. Rejects only when the program cannot be started at all.
 */
export const execFile: Exec = (argv, options) =>
  new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    if (!program) {
      reject(new Error('exec: empty argv'));
      return;
    }
    const started = Date.now();
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: options.env ?? process.env,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let timedOut = false;
    let outputTruncated = false;
    let aborted = false;

    const killGroup = () => {
      try {
        // Negative pid: the whole group that spawn's `detached` created.
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // A grandchild that left the group could hold the pipes open; 'close' must not wait for it.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    child.stdout.on('data', (chunk: Buffer) => {
      if (outputTruncated) return;
      const room = options.maxOutputBytes - stdoutBytes;
      if (chunk.length > room) {
        stdout.push(chunk.subarray(0, Math.max(0, room)));
        stdoutBytes = options.maxOutputBytes;
        outputTruncated = true;
        killGroup();
        return;
      }
      stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes >= MAX_STDERR_BYTES) return;
      stderr.push(chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes));
      stderrBytes += chunk.length;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
        outputTruncated,
        aborted,
        durationMs: Date.now() - started,
      });
    });
  });
