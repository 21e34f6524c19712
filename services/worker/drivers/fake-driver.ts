import type { DelayRangeMs } from '../../../shared/config.js';
import type { CallTask } from '../call-task.js';
import { runtimeKey, type Driver, type PreparedFunction, type RuntimeSpec, type Sandbox } from './driver.js';
import { FakeSandbox } from './fake-sandbox.js';

/**
 * A driver that runs nothing (`FERRY_DRIVER=fake`): every call ends DONE with the JSON text of its
 * params as its result, after `FERRY_FAKE_DELAY_MS`. Everything around the run is the real thing —
 * dispatch, the broker's queue and its miniworkers (one call at a time per slot, so the node's
 * `FERRY_MAX_CONTAINERS` still caps calls at once), timeouts, cancels, reports — so a pipeline can
 * be dry-run and the cluster loaded at scale on hosts with neither Docker nor bubblewrap.
 *
 * The daemon still fetches, checks and unpacks each function's bundle before {@link prepare}: a
 * dry run then fails where a real one would for a cause outside the function (a bundle missing
 * from the registry, a hash mismatch), and the registry sees the load it would. It costs once per
 * function version per node. Nothing in the bundle is run, and no runtime image is needed.
 */
export class FakeDriver implements Driver {
  readonly kind = 'fake' as const;
  readonly isolation = 'nothing runs; every call ends DONE echoing its params';
  /** Nothing runs, so there is nothing to hold to a limit. */
  readonly notEnforced: string[] = [];

  constructor(private readonly delay: DelayRangeMs) {}

  async listImages(): Promise<string[]> {
    return [];
  }

  async prepare(task: CallTask, codeDir: string): Promise<PreparedFunction> {
    return { warmKey: `${task.function}@${task.version}`, key: '', runtime: task.runtime, codeDir, artifact: codeDir, codeInArtifact: true };
  }

  /** {@link prepare} is already instant. */
  async quickPrepare(): Promise<PreparedFunction | null> {
    return null;
  }

  async createSandbox(prepared: PreparedFunction): Promise<Sandbox> {
    return new FakeSandbox(prepared.key, this.delay);
  }

  async createRuntimeSandbox(runtime: RuntimeSpec): Promise<Sandbox> {
    return new FakeSandbox(runtimeKey(runtime), this.delay);
  }

  /** Fake sandboxes live and die with their miniworker: nothing is ever left behind. */
  async removeLeftovers(): Promise<number> {
    return 0;
  }
}
