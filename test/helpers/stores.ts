import { inject } from 'vitest';
import { freshDatabase } from './postgres.js';

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
