import path from 'node:path';
import type { Command } from 'commander';
import { allowKey, denyKey, isKeyName, parseAllowlist, readAllowlistText } from '../../../shared/security/allowlist-file.js';
import { curveDirOf, listPublicKeys } from '../../../shared/security/key-files.js';
import { isCurveKey } from '../../../shared/security/z85.js';
import { CliError, usage } from '../cli-error.js';
import { globals } from '../context.js';
import { show } from '../output.js';

/** The key folder these commands work on: `--data-dir`, else FERRY_DATA_DIR, else ./data (as the daemons). */
function curveDir(cmd: Command): string {
  const { dataDir } = cmd.optsWithGlobals<{ dataDir?: string }>();
  return curveDirOf(path.resolve(dataDir ?? process.env['FERRY_DATA_DIR'] ?? './data'));
}

const say = (line: string): boolean => process.stdout.write(`${line}\n`);

/**
 * `ferry node key|allow|deny|allowed`: CurveZMQ keys on the host of the servers. They read and
 * edit the data folder's files (no cluster call): the daemons read the allowlist again when it
 * changes, so an edit takes effect without a restart.
 */
export function nodeKeyCommands(node: Command): void {
  node
    .option('--data-dir <dir>', 'the data folder (env FERRY_DATA_DIR, default ./data)')
    .addHelpText(
      'after',
      `
A worker on another host joins once its key is allowed on the api's host and the registry's; an
api on another host, once its key is allowed on the db's and the registry's hosts. Put a key in
single quotes (Z85 has shell characters); one starting with "-" goes after "--".

Examples:
  ferry node key                                            # on the worker's host: its public key
  ferry node allow '<the key it printed>' --name worker-7  # on the api's host
  ferry node allowed
  ferry node allow -- '-8Gy$4+SPFDd^:)s0f/[l6y?*={Pb#=0ht[guoV0'
  ferry node deny worker-7                                  # the node is dropped at once`,
    );

  node
    .command('key')
    .description("print the public keys of this data folder's daemons (each makes its key pair at its first start)")
    .action(async (_o: unknown, cmd: Command) => {
      const dir = curveDir(cmd);
      const keys = await listPublicKeys(dir);
      if (keys.length === 0 && !globals(cmd).json) {
        throw new CliError(`no daemon keys in ${dir}: a daemon makes its key pair at its first start (or give --data-dir)`);
      }
      show(globals(cmd).json, { dir, keys }, ['daemon', 'public key'], keys.map((k) => [k.name, k.publicKey]));
    });

  node
    .command('allow <publicKey>')
    .description("allow a client's public key on this host's servers (a worker's, an api's from another host)")
    .option('--name <name>', 'a name for the key, shown in logs and usable with deny')
    .action(async (publicKey: string, opts: { name?: string }, cmd: Command) => {
      if (!isCurveKey(publicKey)) throw usage(`not a CurveZMQ public key (40 Z85 characters, as \`ferry node key\` prints it): ${publicKey}`);
      if (opts.name !== undefined && !isKeyName(opts.name)) throw usage(`bad name "${opts.name}": 1 to 64 letters, digits, ".", "_", "@", ":" or "-"`);
      const result = await allowKey(curveDir(cmd), publicKey, opts.name ?? null);
      const label = opts.name ? ` (${opts.name})` : '';
      say(result === 'added' ? `allowed ${publicKey}${label}` : result === 'renamed' ? `renamed ${publicKey}${label}` : `already allowed: ${publicKey}${label}`);
    });

  node
    .command('deny <keyOrName>')
    .description('remove a key (or every key of a name) from the allowlist: new handshakes are refused and the api drops a node using it')
    .action(async (keyOrName: string, _o: unknown, cmd: Command) => {
      const dir = curveDir(cmd);
      const removed = await denyKey(dir, keyOrName);
      if (removed.length > 0) {
        for (const e of removed) say(`denied ${e.publicKey}${e.name ? ` (${e.name})` : ''}`);
        return;
      }
      const daemon = (await listPublicKeys(dir)).find((k) => k.publicKey === keyOrName || k.name === keyOrName);
      if (daemon) {
        throw new CliError(`${keyOrName} is the key of ${daemon.name}, a daemon of this data folder, allowed as such: remove ${path.join(dir, `${daemon.name}.pub`)} to deny it`);
      }
      throw new CliError(`no allowed key or name ${keyOrName} in ${path.join(dir, 'allowed-keys')}`);
    });

  node
    .command('allowed')
    .description("list the allowed client keys: the allowlist's, then this data folder's daemons (allowed without being listed)")
    .action(async (_o: unknown, cmd: Command) => {
      const dir = curveDir(cmd);
      const listed = parseAllowlist(await readAllowlistText(dir)).entries;
      const daemons = await listPublicKeys(dir);
      const rows = [
        ...listed.map((e) => [e.publicKey, e.name ?? '-', 'allowed-keys']),
        ...daemons.map((d) => [d.publicKey, d.name, 'daemon of this data folder']),
      ];
      show(globals(cmd).json, { dir, allowed: listed, daemons }, ['public key', 'name', 'from'], rows);
    });
}
