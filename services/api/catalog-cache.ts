import type { DbClient } from '../../shared/clients/db-client.js';
import type { FunctionVersion, Runtime } from '../../shared/protocol/domain.js';
import { parseFunctionRef } from '../../shared/protocol/function-ref.js';

const LATEST_TTL_MS = 5_000;

export interface Resolved {
  fn: FunctionVersion;
  runtime: Runtime;
}

/**
 * Function versions and runtimes as the invoke path needs them, without a DB read per call.
 * A pinned version never changes, so it is kept; "latest" and runtimes are kept briefly and
 * dropped whenever this api changes them.
 */
export class CatalogCache {
  private readonly pinned = new Map<string, FunctionVersion>();
  private readonly latest = new Map<string, { fn: FunctionVersion; at: number }>();
  private readonly runtimes = new Map<string, { runtime: Runtime; at: number }>();

  constructor(private readonly db: DbClient) {}

  /** `name` or `name@version`; throws BAD_REQUEST for a malformed one, NOT_FOUND from the DB. */
  async resolve(ref: string): Promise<Resolved> {
    const fn = await this.fn(ref);
    return { fn, runtime: await this.runtime(fn.runtime) };
  }

  async fn(ref: string): Promise<FunctionVersion> {
    const now = Date.now();
    const hit = ref.includes('@') ? this.pinned.get(ref) : this.latestHit(ref, now);
    if (hit) return hit;
    // A malformed reference is refused here, without a DB round trip.
    const fn = await this.db.call('getFunction', parseFunctionRef(ref));
    this.pinned.set(`${fn.name}@${fn.version}`, fn);
    if (!ref.includes('@')) this.latest.set(ref, { fn, at: now });
    return fn;
  }

  async runtime(name: string): Promise<Runtime> {
    const now = Date.now();
    const hit = this.runtimes.get(name);
    if (hit && now - hit.at < LATEST_TTL_MS) return hit.runtime;
    const runtime = await this.db.call('getRuntime', { name });
    this.runtimes.set(name, { runtime, at: now });
    return runtime;
  }

  forgetFunction(name: string): void {
    this.latest.delete(name);
    for (const key of this.pinned.keys()) if (key.startsWith(`${name}@`)) this.pinned.delete(key);
  }

  forgetRuntime(name: string): void {
    this.runtimes.delete(name);
  }

  private latestHit(name: string, now: number): FunctionVersion | undefined {
    const hit = this.latest.get(name);
    return hit && now - hit.at < LATEST_TTL_MS ? hit.fn : undefined;
  }
}
