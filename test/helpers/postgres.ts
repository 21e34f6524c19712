import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nanoid } from 'nanoid';
import pg from 'pg';
import { repoRoot } from './daemon.js';
import { freePort } from './free-port.js';

const script = path.join(repoRoot(), 'deploy', 'postgres-local.sh');

/** Whether this machine has PostgreSQL's server binaries (Debian's postgresql package). */
export const hasPostgres = (): boolean =>
  existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`));


export interface LocalPostgres {
  url: string;
  stop(): void;
}

/** A PostgreSQL server of the test run's own (deploy/postgres-local.sh), in a temp folder, on a free loopback port. */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-pg-'));
  // As root the server runs as the postgres user, who must reach the data folder inside.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const url = execFileSync('bash', [script, 'start', path.join(dir, 'data'), String(port)], { encoding: 'utf8', env: { ...process.env, PG_FAST: '1' } }).trim();
  return {
    url,
    stop: () => {
      execFileSync('bash', [script, 'stop', path.join(dir, 'data')], { stdio: 'inherit' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new, empty database on the server at `serverUrl`: a store no other test sees. */
export async function freshDatabase(serverUrl: string): Promise<string> {
  const name = `ferry_${nanoid(10).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
