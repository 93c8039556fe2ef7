import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import type { AgentAnswer, AgentBalance } from './agent-health.js';
import { activeOverride, overrideJson, reasonProblem, type Override, type OverrideJson, type OverrideMode, type OverrideStore } from './override.js';

/** sysexits.h: the command line was wrong; not permitted. 1 is every other failure. */
export const EXIT_USAGE = 64;
export const EXIT_NOPERM = 77;
export const EXIT_FAILURE = 1;

/** A failure of `harbinger balance …`, with its exit code; the message says what to do. */
export class BalanceCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What the balance commands work with; the CLI fills it in, tests swap the parts. */
export interface BalanceContext {
  store: OverrideStore;
  now: () => number;
  /** The effective uid, and the state directory's owner (undefined: the directory does not exist). */
  euid: number;
  stateDirOwner: () => number | undefined;
  /** The name to record as `by`, and a uid's name for the "run it as" hint. */
  user: string;
  userName: (uid: number) => string;
  /** The command line as typed after `harbinger`, for the hint. */
  argv: readonly string[];
  /** The local agent's /health, undefined when it cannot be known (port 0). */
  healthUrl: string | undefined;
  askAgent: (url: string, timeoutMs: number) => Promise<AgentAnswer>;
  sleep: (ms: number) => Promise<void>;
  write: (text: string) => void;
}

/** A first answer within 2 s, then the change within 3 s: a running agent polls the file twice a second. */
const FIRST_ANSWER_MS = 2000;
const APPLY_WITHIN_MS = 3000;
const RETRY_MS = 200;

/** `--for`: 30m, 2h, 1h30m, 7d. */
export function parseFor(text: string): number {
  const ms = new RegExp(DURATION_PATTERN).test(text) ? parseDuration(text) : NaN;
  if (!(ms >= 1000)) throw new BalanceCommandError(`--for ${JSON.stringify(text)} is not a duration: give one like 30m, 2h, 1h30m or 7d`, EXIT_USAGE);
  return ms;
}

const shellWord = (word: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

function whenText(ms: number, nowMs: number): string {
  // Whole minutes, rounded up: "in 0m" would read as already over.
  const minutes = Math.ceil(Math.max(0, ms - nowMs) / 60_000);
  const parts = [
    [Math.floor(minutes / 1440), 'd'],
    [Math.floor((minutes % 1440) / 60), 'h'],
    [minutes % 60, 'm'],
  ] as const;
  const inText = parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join('') || '0m';
  return `${new Date(ms).toISOString()} (in ${inText})`;
}

export function describeOverride(override: Override, nowMs: number): string {
  const until = override.untilMs === undefined ? 'until resumed' : `until ${whenText(override.untilMs, nowMs)}`;
  return `${override.mode} ${JSON.stringify(override.reason)} by ${override.by}, since ${new Date(override.setAtMs).toISOString()}, ${until}`;
}

function describeAgent(balance: AgentBalance): string {
  const words = balance.state === 'up' ? `up, weight ${balance.weight}%` : balance.state;
  return `${words}${balance.reasons.length > 0 ? ` (${balance.reasons.join('; ')})` : ''}`;
}

/** "deferred (the drive's own verdict): db2's data disk is failing, but …" */
function describeRequest(r: NonNullable<AgentBalance['drainRequest']>): string {
  const verdict = r.verdict === 'drive' ? "the drive's own verdict" : "harbinger's prediction";
  const what: Record<string, string> = {
    waiting: 'asked the collector, waiting for its answer',
    granted: 'granted by the collector',
    deferred: 'deferred by the collector',
    unanswered: 'no answer from the collector (balance.grant_timeout passed)',
  };
  return `${what[r.state] ?? r.state} (${verdict})${r.answer?.state === 'deferred' ? `: ${r.answer.reason}` : ''}`;
}

/** Only root and the agent's own user may change what the load balancer is told. */
function mayChange(ctx: BalanceContext): void {
  const owner = ctx.stateDirOwner();
  if (owner === undefined) {
    throw new BalanceCommandError(
      `the state directory ${ctx.store.stateDir} does not exist or is not a directory (the agent creates it when it starts): start the agent once, or give the agent's directory with --state-dir or state_dir`,
      EXIT_FAILURE,
    );
  }
  if (ctx.euid === 0 || ctx.euid === owner) return;
  const name = ctx.userName(owner);
  const as = owner === 0 ? 'as root: sudo' : `as root or as ${name}: sudo -u ${shellWord(name)}`;
  throw new BalanceCommandError(
    `only root and the owner of ${ctx.store.stateDir} (${name}) may change the override: run it ${as} harbinger ${ctx.argv.map(shellWord).join(' ')}`,
    EXIT_NOPERM,
  );
}

function save(ctx: BalanceContext, action: () => void): void {
  try {
    action();
  } catch (err) {
    throw new BalanceCommandError(err instanceof Error ? err.message : String(err), EXIT_FAILURE);
  }
}

/** Whether the agent's /health shows `expected` (null: no override). */
function reflects(shown: OverrideJson | null | undefined, expected: OverrideJson | null): boolean {
  if (shown === undefined) return false;
  if (shown === null || expected === null) return shown === expected;
  return shown.mode === expected.mode && shown.reason === expected.reason && shown.since === expected.since;
}

/** After a change: what the running agent now does, or that it is not running. Never fails. */
async function confirm(ctx: BalanceContext, expected: OverrideJson | null): Promise<void> {
  const url = ctx.healthUrl;
  if (!url) {
    ctx.write('The agent\'s web port is chosen at start (port 0), so it cannot be asked; the change is saved.\n');
    return;
  }
  let answer = await ctx.askAgent(url, FIRST_ANSWER_MS);
  if (!answer.reached) {
    ctx.write(`No agent answers at ${url} (${answer.why}): the change is saved and applies when the agent runs.\n`);
    return;
  }
  const deadline = ctx.now() + APPLY_WITHIN_MS;
  while (answer.reached && answer.balance && !reflects(answer.balance.override, expected) && answer.balance.override !== undefined && ctx.now() < deadline) {
    await ctx.sleep(RETRY_MS);
    answer = await ctx.askAgent(url, Math.max(100, Math.min(FIRST_ANSWER_MS, deadline - ctx.now())));
  }
  if (!answer.reached || !answer.balance) {
    const why = answer.reached ? (answer.note ?? 'no balance state in its answer') : answer.why;
    ctx.write(`The agent at ${url} could not be read back (${why}): the change is saved.\n`);
  } else if (answer.balance.override === undefined) {
    ctx.write(`The agent at ${url} does not report overrides (an older version: it ignores them); it is ${describeAgent(answer.balance)}.\n`);
  } else if (reflects(answer.balance.override, expected)) {
    ctx.write(`The agent applied it: ${describeAgent(answer.balance)}.\n`);
  } else {
    ctx.write(`The agent at ${url} has not applied it within ${APPLY_WITHIN_MS / 1000} s (it is ${describeAgent(answer.balance)}): the change is saved; see the agent's log.\n`);
  }
}

/** `harbinger balance drain|hold --reason TEXT [--for DURATION]`: replaces any override. */
export async function setOverride(mode: OverrideMode, opts: { reason?: string; for?: string }, ctx: BalanceContext): Promise<void> {
  if (opts.reason === undefined) throw new BalanceCommandError(`balance ${mode} needs --reason TEXT: say why, e.g. --reason "replacing disk sdb"`, EXIT_USAGE);
  const bad = reasonProblem(opts.reason);
  if (bad) throw new BalanceCommandError(`--reason: ${bad}`, EXIT_USAGE);
  const forMs = opts.for === undefined ? undefined : parseFor(opts.for);
  mayChange(ctx);
  const nowMs = ctx.now();
  const override: Override = { mode, reason: opts.reason, by: ctx.user, setAtMs: nowMs };
  if (forMs !== undefined) override.untilMs = nowMs + forMs;
  save(ctx, () => ctx.store.write(override));
  ctx.write(`In force: ${describeOverride(override, nowMs)}. A running agent applies it within a second.\n`);
  await confirm(ctx, overrideJson(override));
}

/** `harbinger balance resume`: harbinger decides again. */
export async function resumeOverride(ctx: BalanceContext): Promise<void> {
  mayChange(ctx);
  const { override } = ctx.store.read();
  let removed = false;
  save(ctx, () => (removed = ctx.store.clear()));
  const was = override ? ` (was ${describeOverride(override, ctx.now())})` : '';
  ctx.write(removed ? `Override removed${was}: harbinger decides. A running agent applies it within a second.\n` : 'No override was set: harbinger decides.\n');
  if (removed) await confirm(ctx, null);
}

/** `harbinger balance status [--json]`: the override on file and the agent's decision. */
export async function overrideStatus(opts: { json?: boolean }, ctx: BalanceContext): Promise<void> {
  const nowMs = ctx.now();
  const { override, problem } = ctx.store.read();
  const active = activeOverride(override, nowMs);
  const expired = override && !active ? override : undefined;
  const answer: AgentAnswer = ctx.healthUrl ? await ctx.askAgent(ctx.healthUrl, FIRST_ANSWER_MS) : { reached: false, why: 'its web port is chosen at start (port 0)' };
  if (opts.json) {
    const agent = answer.reached
      ? { url: ctx.healthUrl, reachable: true, balance: answer.balance ? { ...answer.balance, override: answer.balance.override ?? null } : null, note: answer.note ?? null }
      : { url: ctx.healthUrl ?? null, reachable: false, error: answer.why };
    ctx.write(`${JSON.stringify({ file: ctx.store.path, override: overrideJson(active), expired: overrideJson(expired), problem: problem ?? null, agent })}\n`);
    return;
  }
  if (active) ctx.write(`override: ${describeOverride(active, nowMs)}\n`);
  else if (expired) {
    const what = `${expired.mode} ${JSON.stringify(expired.reason)} by ${expired.by}`;
    ctx.write(`override: none: harbinger decides (the ${what} expired at ${new Date(expired.untilMs ?? nowMs).toISOString()}; "harbinger balance resume" removes the file)\n`);
  }
  else if (problem) ctx.write(`override: none: harbinger decides; the file is ignored: ${problem}\n`);
  else if (ctx.stateDirOwner() === undefined) ctx.write(`override: none: harbinger decides (the state directory ${ctx.store.stateDir} does not exist: no agent has run with it)\n`);
  else ctx.write('override: none: harbinger decides\n');
  if (answer.reached) ctx.write(answer.balance ? `agent: ${describeAgent(answer.balance)}\n` : `agent: answers at ${ctx.healthUrl} but its state cannot be read (${answer.note ?? 'no balance state in its answer'})\n`);
  else ctx.write(`agent: no answer at ${ctx.healthUrl ?? 'its web address'} (${answer.why})\n`);
  const b = answer.reached ? answer.balance : undefined;
  if (b?.cluster !== undefined) ctx.write(`cluster: ${b.cluster}\n`);
  if (b?.drainRequest) ctx.write(`drain request: ${describeRequest(b.drainRequest)}\n`);
}
