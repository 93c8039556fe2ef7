import { activeOverride, type Override, type OverrideStore } from './override.js';

export const OVERRIDE_POLL_MS = 500;

export interface OverrideWatcherDeps {
  store: Pick<OverrideStore, 'read' | 'signature'>;
  now: () => number;
  /**
   * The active override changed: set, replaced, removed, expired, or the file became invalid
   * (`active` undefined and `problem` saying what is wrong, once per version of the file).
   */
  onChange: (active: Override | undefined, problem?: string) => void;
  intervalMs?: number;
  setInterval?: (tick: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

/**
 * Follows the override file for the agent. Polling a stat twice a second costs nothing and works
 * on every file system and across a rename (inotify would miss a directory swapped under it); the
 * file is read only when its signature changes. Expiry is checked on every tick, so an override
 * with `until` ends within one interval of it without anyone touching the file.
 */
export class OverrideWatcher {
  private handle: unknown;
  private checked = false;
  private signature: string | undefined;
  private stored: Override | undefined;
  private problem: string | undefined;
  /** What onChange was last told, as a comparable key. */
  private told: string | undefined;

  constructor(private readonly deps: OverrideWatcherDeps) {}

  /** The override in force at the last check. */
  active(): Override | undefined {
    return activeOverride(this.stored, this.deps.now());
  }

  /**
   * Checks at once, before the promise is even returned (the body runs synchronously), so a
   * persisted override is applied before the agent answers anything; then polls.
   */
  async start(): Promise<void> {
    this.tick();
    if (this.handle !== undefined) return;
    const set = this.deps.setInterval ?? ((tick: () => void, ms: number) => setInterval(tick, ms).unref());
    this.handle = set(() => this.tick(), this.deps.intervalMs ?? OVERRIDE_POLL_MS);
  }

  async stop(): Promise<void> {
    if (this.handle === undefined) return;
    const clear = this.deps.clearInterval ?? ((handle: unknown) => clearInterval(handle as NodeJS.Timeout));
    clear(this.handle);
    this.handle = undefined;
  }

  /** One poll: re-reads the file if it changed, applies expiry, and tells of any change. */
  tick(): void {
    const signature = this.deps.store.signature();
    let newProblem = false;
    if (!this.checked || signature !== this.signature) {
      this.checked = true;
      this.signature = signature;
      const { override, problem } = signature === undefined ? {} : this.deps.store.read();
      this.stored = override;
      newProblem = problem !== undefined;
      this.problem = problem;
    }
    const active = this.active();
    const key = JSON.stringify(active ?? null);
    if (key === this.told && !newProblem) return;
    // The first check of a missing file is news too: the caller learns there is none.
    this.told = key;
    if (this.problem !== undefined && newProblem) this.deps.onChange(active, this.problem);
    else this.deps.onChange(active);
  }
}
