import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adminKeyFile } from '../../shared/files/admin-key-file.js';
import { writeOwnerOnly } from '../../shared/files/atomic-write.js';

/** An API key the CLI sends, and where it was found (said when the cluster refuses it). */
export interface Credential {
  token: string;
  source: string;
}

/** What `ferry login` keeps for one cluster. */
interface SavedLogin {
  token: string;
  keyId: string | null;
  role: string | null;
  savedAt: string;
}

interface SavedLogins {
  clusters: Record<string, SavedLogin>;
}

/** `ferry login`'s file: `$XDG_CONFIG_HOME/ferry/credentials.json` (else under ~/.config), mode 0600. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] || path.join(os.homedir(), '.config');
  return path.join(base, 'ferry', 'credentials.json');
}

/** Logins are kept per cluster URL, written without a trailing slash. */
const clusterKey = (url: string): string => url.replace(/\/+$/, '');

function readLogins(file: string): SavedLogins {
  if (!existsSync(file)) return { clusters: {} };
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SavedLogins>;
  return { clusters: parsed.clusters ?? {} };
}

/** Keeps `token` as the key for `url` in {@link credentialsFile}; answers the file. */
export async function saveLogin(url: string, login: Omit<SavedLogin, 'savedAt'>): Promise<string> {
  const file = credentialsFile();
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const logins = readLogins(file);
  logins.clusters[clusterKey(url)] = { ...login, savedAt: new Date().toISOString() };
  await writeOwnerOnly(file, JSON.stringify(logins, null, 2) + '\n');
  return file;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '0.0.0.0']);

/**
 * The key to send to `url`, first found of: `--token`, `FERRY_TOKEN`, the key `ferry login` saved
 * for this URL, and for a cluster on this machine the first admin key in its data folder
 * (`FERRY_DATA_DIR`, else ./data). Null when there is none.
 */
export function resolveCredential(url: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Credential | null {
  if (flag) return { token: flag, source: '--token' };
  if (env['FERRY_TOKEN']) return { token: env['FERRY_TOKEN'], source: 'FERRY_TOKEN' };
  const file = credentialsFile(env);
  const saved = readLogins(file).clusters[clusterKey(url)];
  if (saved) return { token: saved.token, source: `the key \`ferry login\` saved in ${file}` };
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return null;
  }
  if (!LOCAL_HOSTS.has(host)) return null;
  const keyFile = adminKeyFile(path.resolve(env['FERRY_DATA_DIR'] ?? './data'));
  if (!existsSync(keyFile)) return null;
  return { token: readFileSync(keyFile, 'utf8').trim(), source: keyFile };
}
