import { ErrorCode, FerryError, NotFoundError } from '../../../shared/errors.js';
import type { DbParsedContent } from '../../../shared/protocol/db-messages.js';
import type { FunctionVersion, Runtime } from '../../../shared/protocol/domain.js';
import { mergedEnv, newRuntime, splitRef } from '../catalog-rules.js';
import { keys } from './keys.js';
import type { Store } from './store.js';

/** Runtime and function changes are rare; one lock keeps "delete a runtime in use" race-free. */
const CATALOG = 'catalog';

/** Runtimes and versioned functions. */
export class Catalog {
  constructor(private readonly store: Store) {}

  /** Registers a runtime, or replaces the one of that name. `name` defaults to `image`. */
  registerRuntime(spec: DbParsedContent['registerRuntime']): Promise<Runtime> {
    return this.store.lock.run(CATALOG, async () => {
      const runtime = newRuntime(spec);
      await this.store.write([{ type: 'put', key: keys.runtime(runtime.name), value: runtime }]);
      return runtime;
    });
  }

  async getRuntime(name: string): Promise<Runtime> {
    const runtime = await this.store.get<Runtime>(keys.runtime(name));
    if (!runtime) throw new NotFoundError(`runtime "${name}"`);
    return runtime;
  }

  listRuntimes(): Promise<Runtime[]> {
    return this.store.values<Runtime>(keys.runtimePrefix);
  }

  /** Deletes a runtime no function version uses; throws IN_USE naming the functions that do. */
  deleteRuntime(name: string): Promise<{ deleted: true }> {
    return this.store.lock.run(CATALOG, async () => {
      await this.getRuntime(name);
      const users = new Set(
        (await this.store.values<FunctionVersion>(keys.fnAllPrefix)).filter((f) => f.runtime === name).map((f) => f.name),
      );
      if (users.size > 0) {
        throw new FerryError(ErrorCode.IN_USE, `runtime "${name}" is used by function(s) ${[...users].join(', ')}`);
      }
      await this.store.write([{ type: 'del', key: keys.runtime(name) }]);
      return { deleted: true as const };
    });
  }

  /**
   * Records a new version of a function. Version numbers never repeat for a name, even across a
   * delete, so a node's cache keyed by `name:version` can never serve stale code. With
   * `keepEnv` it starts from the env and secrets of the version before it (the secrets stay
   * sealed: the db never holds a key to them).
   * @throws BAD_REQUEST when the merged env and secrets share a name or pass the name limit
   */
  putFunction({ keepEnv, ...spec }: DbParsedContent['putFunction']): Promise<FunctionVersion> {
    return this.store.lock.run(CATALOG, async () => {
      await this.getRuntime(spec.runtime);
      const counterKey = keys.counter(`fnVersion!${spec.name}`);
      const version = ((await this.store.get<number>(counterKey)) ?? 0) + 1;
      // Under the catalog lock: two pushes racing each keep the env of the version just before their own.
      const kept = keepEnv ? await this.latestEnv(spec.name) : { env: {}, secrets: {} };
      const { env, secrets } = mergedEnv(kept, spec);
      const fn: FunctionVersion = { ...spec, env, secrets, version, createdAt: Date.now() };
      await this.store.write([
        { type: 'put', key: keys.fnVersion(spec.name, version), value: fn },
        { type: 'put', key: counterKey, value: version },
      ]);
      return fn;
    });
  }

  /** The latest version, or the one asked for; `name` may also be written `name@version`. */
  async getFunction(ref: DbParsedContent['getFunction']): Promise<FunctionVersion> {
    const { name, version } = splitRef(ref.name, ref.version);
    if (version !== undefined) {
      const fn = await this.store.get<FunctionVersion>(keys.fnVersion(name, version));
      if (!fn) throw new NotFoundError(`function "${name}@${version}"`);
      return fn;
    }
    const latest = await this.latest(name);
    if (!latest) throw new NotFoundError(`function "${name}"`);
    return latest;
  }

  private async latest(name: string): Promise<FunctionVersion | undefined> {
    const [latest] = await this.store.values<FunctionVersion>(keys.fnVersionPrefix(name), { reverse: true, limit: 1 });
    return latest;
  }

  /** The env and sealed secrets of a function's latest version; none when it has no version. */
  private async latestEnv(name: string): Promise<{ env: Record<string, string>; secrets: Record<string, string> }> {
    const latest = await this.latest(name);
    return { env: latest?.env ?? {}, secrets: latest?.secrets ?? {} };
  }

  /** The latest version of every function, by name. */
  async listFunctions(): Promise<FunctionVersion[]> {
    const latest = new Map<string, FunctionVersion>();
    for (const fn of await this.store.values<FunctionVersion>(keys.fnAllPrefix)) latest.set(fn.name, fn);
    return [...latest.values()];
  }

  async listFunctionVersions(name: string): Promise<FunctionVersion[]> {
    const versions = await this.store.values<FunctionVersion>(keys.fnVersionPrefix(name));
    if (versions.length === 0) throw new NotFoundError(`function "${name}"`);
    return versions;
  }

  deleteFunction(name: string): Promise<{ deletedVersions: number }> {
    return this.store.lock.run(CATALOG, async () => {
      const versionKeys = await this.store.keysUnder(keys.fnVersionPrefix(name));
      if (versionKeys.length === 0) throw new NotFoundError(`function "${name}"`);
      await this.store.write(versionKeys.map((key) => ({ type: 'del' as const, key })));
      return { deletedVersions: versionKeys.length };
    });
  }
}
