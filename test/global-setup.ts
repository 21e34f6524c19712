import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { hasPostgres, startLocalPostgres } from './helpers/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server the stores' conformance suite runs against; null when this machine has none. */
    postgresUrl: string | null;
  }
}

/** Ferry containers (any node's), as `id name state` lines. */
function ferryContainers(): string[] {
  const out = execFileSync('docker', ['ps', '-a', '--filter', 'label=ferry.node', '--format', '{{.ID}} {{.Names}} {{.State}} {{.Label "ferry.fn"}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/**
 * Builds the runtime images once before the suite (a no-op when they are current). The container
 * tests need a Docker engine: `.ci/run` starts one; without it they fail rather than skip.
 * PostgreSQL: the server FERRY_TEST_POSTGRES_URL names (`.ci/run` starts one), else one of the
 * run's own when the machine has the binaries. After the suite, no container the suite made may
 * be left (one that was there before is not the suite's).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync('bash', [path.join(root, 'runtimes', 'build.sh'), 'all'], { stdio: 'inherit' });
  const given = process.env.FERRY_TEST_POSTGRES_URL;
  const own = given === undefined && hasPostgres() ? await startLocalPostgres() : undefined;
  project.provide('postgresUrl', given ?? own?.url ?? null);
  const before = new Set(ferryContainers().map((line) => line.split(' ')[0]));
  return () => {
    own?.stop();
    const left = ferryContainers().filter((line) => !before.has(line.split(' ')[0]));
    if (left.length > 0) throw new Error(`the test run left ${left.length} container(s) behind:\n${left.join('\n')}`);
  };
}
