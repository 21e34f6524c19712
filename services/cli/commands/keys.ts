import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import type { ApiKeyView, Role } from '../../../shared/protocol/api-key.js';
import { ApiClient } from '../api-client.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { saveLogin } from '../credentials.js';
import { parseDuration } from '../duration.js';
import { ago, show } from '../output.js';

const ROLES = ['admin', 'developer', 'invoker', 'reader'];

/** A key's life: whole days (`30d`, what keys are mostly given), or any duration `parseDuration` reads. */
function lifeMs(text: string): number {
  const days = /^(\d{1,5})d$/.exec(text.trim());
  return days ? Number(days[1]) * 86_400_000 : parseDuration('--expires-in', text);
}

/** The key `ferry login` checks: `--token`, else `FERRY_TOKEN`, else one line typed (not shown) or what is piped in. */
async function keyToLogIn(flag: string | undefined): Promise<string> {
  const given = flag ?? process.env['FERRY_TOKEN'];
  if (given) return given;
  let text = '';
  if (process.stdin.isTTY) {
    process.stderr.write('API key (not shown): ');
    // Echo goes to a stream that drops it: the key never shows on the screen.
    const rl = createInterface({ input: process.stdin, output: new Writable({ write: (_c, _e, done) => done() }), terminal: true });
    text = await rl.question('');
    rl.close();
    process.stderr.write('\n');
  } else {
    for await (const chunk of process.stdin) text += String(chunk);
  }
  const key = text.trim();
  if (key === '') throw usage('no API key given: pass --token KEY, set FERRY_TOKEN, or type or pipe the key in');
  return key;
}

/** Whether a key is in use: `active`, `revoked 5m ago`, `expired 2h ago`. */
function stateOf(k: ApiKeyView, now = Date.now()): string {
  if (k.revokedAt !== null) return `revoked ${ago(k.revokedAt)}`;
  if (k.expiresAt !== null && k.expiresAt <= now) return `expired ${ago(k.expiresAt)}`;
  return 'active';
}

export function loginCommand(cmd: Command): void {
  cmd
    .addHelpText(
      'after',
      `
The key is taken from --token, else FERRY_TOKEN, else read from standard input (typed, not shown).
Every command then sends it to this URL, unless --token or FERRY_TOKEN names another.

Examples:
  ferry login --token fry_…
  ferry --url https://ferry.example:3000 login < my.key
  ferry login --token "$(cat data/admin.key)"`,
    )
    .action(async () => {
      const { url, token, json } = globals(cmd);
      const key = await keyToLogIn(token);
      const who = await new ApiClient(url, { token: key, source: 'the key given to `ferry login`' }).whoami();
      const file = await saveLogin(url, { token: key, keyId: who.keyId, role: who.role });
      if (json) process.stdout.write(JSON.stringify({ url, ...who, savedIn: file }, null, 2) + '\n');
      else if (who.auth === 'off') process.stdout.write(`saved for ${url} in ${file}; the cluster runs with auth off, so it asks for no key\n`);
      else process.stdout.write(`logged in to ${url} as key ${who.keyId} (${who.role}${who.name ? `, "${who.name}"` : ''}); saved in ${file}\n`);
    });
}

export function whoamiCommand(cmd: Command): void {
  cmd.action(async () => {
    const who = await client(cmd).whoami();
    if (globals(cmd).json) process.stdout.write(JSON.stringify(who, null, 2) + '\n');
    else if (who.auth === 'off') process.stdout.write('the cluster runs with auth off: it asks for no key\n');
    else process.stdout.write(`key ${who.keyId} (${who.role}${who.name ? `, "${who.name}"` : ''})\n`);
  });
}

/** `ferry keys create|ls|revoke`. */
export function keysCommands(keys: Command): void {
  keys
    .command('create')
    .description('make an API key; prints the key itself, which is shown this once')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .option('--name <name>', 'a name for people, such as who or what uses it')
    .option('--expires-in <duration>', 'it stops working this long from now: 30s, 5m, 1h, 30d (default: never)')
    .addHelpText(
      'after',
      `
Roles: admin (everything: runtimes, keys), developer (push and delete functions, invoke, read),
invoker (invoke; cancel, dispatch and retry calls, runs, sessions, batches; read), reader (read).
The key goes to standard output alone, its details to standard error.

Examples:
  ferry keys create --role invoker --name ci
  ferry keys create --role reader --expires-in 30d
  FERRY_TOKEN=$(ferry keys create --role developer --name alice) ferry whoami`,
    )
    .action(async (o: { role: Role; name?: string; expiresIn?: string }, cmd: Command) => {
      const life = o.expiresIn === undefined ? undefined : lifeMs(o.expiresIn);
      if (life !== undefined && life < 1000) throw usage('--expires-in must be at least 1s');
      const body = { role: o.role, ...(o.name !== undefined ? { name: o.name } : {}), ...(life !== undefined ? { expiresInSecs: Math.ceil(life / 1000) } : {}) };
      const made = await client(cmd).createKey(body);
      if (globals(cmd).json) {
        process.stdout.write(JSON.stringify(made, null, 2) + '\n');
        return;
      }
      const expires = made.expiresAt === null ? 'never expires' : `expires ${new Date(made.expiresAt).toISOString()}`;
      process.stderr.write(`key ${made.keyId} (${made.role}${made.name ? `, "${made.name}"` : ''}; ${expires}). It is shown this once: keep it now.\n`);
      process.stdout.write(`${made.key}\n`);
    });

  keys
    .command('ls')
    .description('every API key, oldest first: id, name, role, state; never a key itself')
    .action(async (_o: unknown, cmd: Command) => {
      const { keys: list } = await client(cmd).listKeys();
      show(
        globals(cmd).json,
        { keys: list },
        ['id', 'name', 'role', 'state', 'created', 'expires', 'made by'],
        list.map((k) => [k.keyId, k.name ?? '-', k.role, stateOf(k), ago(k.createdAt), k.expiresAt === null ? 'never' : new Date(k.expiresAt).toISOString(), k.createdBy ?? '-']),
      );
    });

  keys
    .command('revoke <id>')
    .description('revoke a key: it stops working at once (within a second on every api)')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const k = await client(cmd).revokeKey(id);
      if (globals(cmd).json) process.stdout.write(JSON.stringify(k, null, 2) + '\n');
      else process.stdout.write(`revoked key ${k.keyId} (${k.role}${k.name ? `, "${k.name}"` : ''})\n`);
    });
}
