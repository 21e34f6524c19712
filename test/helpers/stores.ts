import { afterAll, beforeAll, inject } from 'vitest';
import type { DbClient } from '../../shared/clients/db-client.js';
import { startDb, type RunningDb } from './db.js';
import { freshDatabase } from './postgres.js';
import { makeTempDir } from './temp.js';

/** A kind of store the db daemon can keep its state in, as the conformance suite runs it. */
export interface StoreUnderTest {
  name: 'level' | 'postgres';
  /**
   * The environment of a db daemon on a new, empty store (LevelDB: the data folder the test
   * gives is the store). Starting another daemon with the same env reopens the same store.
   */
  fresh(): Promise<Record<string, string>>;
}

const level: StoreUnderTest = { name: 'level', fresh: async () => ({ FERRY_STORE: 'level' }) };

/**
 * Every store the suite runs against: LevelDB always; PostgreSQL when the run has a server
 * (test/global-setup.ts starts one when the machine has PostgreSQL, `.ci/run` always does).
 */
export function storesUnderTest(): StoreUnderTest[] {
  const server = inject('postgresUrl');
  if (server === null) {
    console.warn('no PostgreSQL on this machine (apt-get install postgresql): the store suite runs against LevelDB only');
    return [level];
  }
  return [level, { name: 'postgres', fresh: async () => ({ FERRY_STORE: await freshDatabase(server) }) }];
}

/** A db daemon on a new store, for the tests of one describe block. */
export interface StoreDb {
  /** The client of the daemon running now. */
  readonly db: DbClient;
  /** Stops the daemon (with `signal`: SIGKILL for a crash) and starts another on the same store. */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a db daemon on a fresh store of `store` before the block's tests (with `env` besides)
 * and stops it after them: call it in a `describe`.
 */
export function dbOnStore(store: StoreUnderTest, env: Record<string, string> = {}): StoreDb {
  let dir = '';
  let cleanup: (() => Promise<void>) | undefined;
  let storeEnv: Record<string, string> = {};
  let run: RunningDb | undefined;
  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir());
    storeEnv = { ...(await store.fresh()), ...env };
    run = await startDb(dir, storeEnv);
  });
  afterAll(async () => {
    await run?.stop();
    await cleanup?.();
  });
  return {
    get db() {
      if (!run) throw new Error('the db daemon has not started yet');
      return run.db;
    },
    restart: async (signal) => {
      await run?.stop(signal);
      run = await startDb(dir, storeEnv);
    },
  };
}
