import { ErrorCode, FerryError, NotFoundError } from '../../../shared/errors.js';
import type { DbParsedContent } from '../../../shared/protocol/db-messages.js';
import type { FunctionVersion, Runtime } from '../../../shared/protocol/domain.js';
import { mergedEnv, newRuntime, splitRef } from '../catalog-rules.js';
import { columnOf, firstOf, inTx, type Db, type Tx } from './pg-pool.js';

/** Runtime and function changes are rare: one lock (across daemons) keeps "delete a runtime in use" race-free. */
const CATALOG_LOCK = 0x66657273;
const lockCatalog = (tx: Tx) => tx.query('SELECT pg_advisory_xact_lock($1)', [CATALOG_LOCK]);

/** Runtimes and versioned functions in PostgreSQL (see the LevelDB store's Catalog). */
export class PgCatalog {
  constructor(private readonly db: Db) {}

  async registerRuntime(spec: DbParsedContent['registerRuntime']): Promise<Runtime> {
    const runtime = newRuntime(spec);
    await inTx(this.db, async (tx) => {
      await lockCatalog(tx);
      await tx.query('INSERT INTO ferry_runtimes (name, record) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET record = excluded.record', [runtime.name, JSON.stringify(runtime)]);
    });
    return runtime;
  }

  async getRuntime(name: string, q: Tx = this.db): Promise<Runtime> {
    const runtime = await firstOf<Runtime>(q, 'record', 'SELECT record FROM ferry_runtimes WHERE name = $1', [name]);
    if (!runtime) throw new NotFoundError(`runtime "${name}"`);
    return runtime;
  }

  listRuntimes(): Promise<Runtime[]> {
    return columnOf<Runtime>(this.db, 'record', 'SELECT record FROM ferry_runtimes ORDER BY name');
  }

  /** Deletes a runtime no function version uses; throws IN_USE naming the functions that do. */
  deleteRuntime(name: string): Promise<{ deleted: true }> {
    return inTx(this.db, async (tx) => {
      await lockCatalog(tx);
      await this.getRuntime(name, tx);
      const users = await columnOf<string>(tx, 'name', 'SELECT DISTINCT name FROM ferry_functions WHERE runtime = $1 ORDER BY name', [name]);
      if (users.length > 0) throw new FerryError(ErrorCode.IN_USE, `runtime "${name}" is used by function(s) ${users.join(', ')}`);
      await tx.query('DELETE FROM ferry_runtimes WHERE name = $1', [name]);
      return { deleted: true as const };
    });
  }

  /** A new version; numbers never repeat for a name, even across a delete (see the LevelDB store's putFunction). */
  putFunction({ keepEnv, ...spec }: DbParsedContent['putFunction']): Promise<FunctionVersion> {
    return inTx(this.db, async (tx) => {
      await lockCatalog(tx);
      await this.getRuntime(spec.runtime, tx);
      const version = (await firstOf<number>(
        tx,
        'last',
        'INSERT INTO ferry_function_numbers (name, last) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET last = ferry_function_numbers.last + 1 RETURNING last',
        [spec.name],
      )) as number;
      const latest = keepEnv ? await this.latest(spec.name, tx) : undefined;
      const { env, secrets } = mergedEnv({ env: latest?.env ?? {}, secrets: latest?.secrets ?? {} }, spec);
      const fn: FunctionVersion = { ...spec, env, secrets, version, createdAt: Date.now() };
      await tx.query('INSERT INTO ferry_functions (name, version, runtime, record) VALUES ($1, $2, $3, $4)', [fn.name, version, fn.runtime, JSON.stringify(fn)]);
      return fn;
    });
  }

  async getFunction(ref: DbParsedContent['getFunction']): Promise<FunctionVersion> {
    const { name, version } = splitRef(ref.name, ref.version);
    if (version !== undefined) {
      const fn = await firstOf<FunctionVersion>(this.db, 'record', 'SELECT record FROM ferry_functions WHERE name = $1 AND version = $2', [name, version]);
      if (!fn) throw new NotFoundError(`function "${name}@${version}"`);
      return fn;
    }
    const latest = await this.latest(name);
    if (!latest) throw new NotFoundError(`function "${name}"`);
    return latest;
  }

  private latest(name: string, q: Tx = this.db): Promise<FunctionVersion | undefined> {
    return firstOf<FunctionVersion>(q, 'record', 'SELECT record FROM ferry_functions WHERE name = $1 ORDER BY version DESC LIMIT 1', [name]);
  }

  /** The latest version of every function, by name. */
  listFunctions(): Promise<FunctionVersion[]> {
    return columnOf<FunctionVersion>(this.db, 'record', 'SELECT DISTINCT ON (name) record FROM ferry_functions ORDER BY name, version DESC');
  }

  async listFunctionVersions(name: string): Promise<FunctionVersion[]> {
    const versions = await columnOf<FunctionVersion>(this.db, 'record', 'SELECT record FROM ferry_functions WHERE name = $1 ORDER BY version', [name]);
    if (versions.length === 0) throw new NotFoundError(`function "${name}"`);
    return versions;
  }

  deleteFunction(name: string): Promise<{ deletedVersions: number }> {
    return inTx(this.db, async (tx) => {
      await lockCatalog(tx);
      const { rowCount } = await tx.query('DELETE FROM ferry_functions WHERE name = $1', [name]);
      if (!rowCount) throw new NotFoundError(`function "${name}"`);
      return { deletedVersions: rowCount };
    });
  }
}
