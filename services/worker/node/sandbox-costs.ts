/** What starting a sandbox costs until the node has measured it: a container start here. */
const DEFAULT_START_MS = 250;
/** An init this long was a sandbox start (or a move into an empty one), not a warm call. */
const START_SAMPLE_MIN_MS = 20;
/** Weight of the newest sample in the running averages. */
const ALPHA = 0.2;
/** Runs of functions no longer seen are forgotten past this many. */
const MAX_FUNCTIONS = 10_000;

/**
 * What calls and sandbox starts have cost on this node, to choose between waiting for one of a
 * function's busy sandboxes and taking another function's idle one (a new container). Two
 * functions called in turns would otherwise trade every container back and forth, each call
 * paying a start that is hundreds of times a warm call.
 */
export class SandboxCosts {
  private readonly runMs = new Map<string, number>();
  private startMs = DEFAULT_START_MS;
  /** Since when calls of a function have been waiting for its busy sandboxes, without a break. */
  private readonly waitingSince = new Map<string, number>();

  /** What a sandbox start costs here, as measured (ms). */
  get startEstimateMs(): number {
    return Math.round(this.startMs);
  }

  /** A finished call of sandbox `key`: its run time, and its init time (a start when long). */
  record(key: string, runMs: number, initMs: number): void {
    const known = this.runMs.get(key);
    this.runMs.delete(key);
    this.runMs.set(key, known === undefined ? runMs : known + ALPHA * (runMs - known));
    if (this.runMs.size > MAX_FUNCTIONS) this.runMs.delete(this.runMs.keys().next().value!);
    if (initMs >= START_SAMPLE_MIN_MS) this.startMs += ALPHA * (initMs - this.startMs);
  }

  /**
   * True when the `position`-th waiting call of sandbox `key` should wait for one of its `busy`
   * sandboxes: it would start sooner there, as they free up, than in a new one. A backlog that
   * lasts still grows the function by one sandbox per start time, so a function that needs more
   * than it has gets them, and a burst does not.
   */
  shouldWait(key: string, busy: number, position: number, now = Date.now()): boolean {
    const run = this.runMs.get(key);
    if (busy === 0 || run === undefined) return false;
    // +1 ms: a freed sandbox reports ready and gets its next call through the broker.
    if (Math.ceil(position / busy) * (run + 1) >= this.startMs) return false;
    const since = this.waitingSince.get(key);
    if (since === undefined) this.waitingSince.set(key, now);
    else if (now - since >= this.startMs) {
      this.waitingSince.set(key, now);
      return false;
    }
    return true;
  }

  /** Some function's calls are waiting for its busy sandboxes. */
  get backlogged(): boolean {
    return this.waitingSince.size > 0;
  }

  /** The functions with calls still queued: any other has caught up with its backlog. */
  settle(queued: ReadonlySet<string>): void {
    for (const key of this.waitingSince.keys()) if (!queued.has(key)) this.waitingSince.delete(key);
  }
}
