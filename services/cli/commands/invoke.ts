import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { finish, FINISHED } from '../call-view.js';
import { waitForCall } from '../call-wait.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';

/** `-p key=value`: values that parse as JSON (numbers, true, {"a":1}) are taken as JSON, else as text. */
export function parseParam(pair: string, into: Record<string, unknown>): Record<string, unknown> {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw usage(`-p takes key=value, got "${pair}"`);
  const raw = pair.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // plain text
  }
  return { ...into, [pair.slice(0, eq)]: value };
}

export async function parseData(data: string): Promise<unknown> {
  const text = data.startsWith('@') ? await readFile(data.slice(1), 'utf8').catch(() => { throw usage(`cannot read ${data.slice(1)}`); }) : data;
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`-d must be JSON (or @file.json): ${text.slice(0, 80)}`);
  }
}

/** Header values are ASCII; the call store keeps keys of up to 256 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

interface InvokeOptions {
  param: Record<string, unknown>;
  data?: string;
  async?: boolean;
  hold?: boolean;
  session?: string;
  idempotencyKey?: string;
}

export function invokeCommand(cmd: Command): void {
  cmd
    .option('-p, --param <key=value>', 'a parameter (repeatable)', (v: string, acc: Record<string, unknown>) => parseParam(v, acc), {})
    .option('-d, --data <json>', "all parameters as JSON, or @file.json")
    .option('--async', 'do not wait: print the call id')
    .option('--hold', 'store the call HELD, not run until `ferry dispatch <id>`: print the call id')
    .option('--session <id>', 'group the call into a session')
    .option('--idempotency-key <key>', 'make the call at most once: the same key again answers the call made first (with other params: IDEMPOTENCY_CONFLICT)')
    .addHelpText(
      'after',
      `
Examples:
  ferry invoke dice -p roll=4d6
  ferry invoke dice@2 -d '{"roll":"2d20"}'
  ferry invoke dice -d @params.json --async
  id=$(ferry invoke dice -p roll=4d6 --hold) && ferry dispatch "$id"
  ferry invoke charge -p order=42 --idempotency-key order-42   # run again: the first call's result`,
    )
    .action(async (fn: string, opts: InvokeOptions) => {
      if (opts.data && Object.keys(opts.param).length > 0) throw usage('use -p or -d, not both');
      const key = opts.idempotencyKey;
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw usage('--idempotency-key must be 1 to 256 printable ASCII characters, not starting or ending with a space');
      const params = opts.data ? await parseData(opts.data) : opts.param;
      const api = client(cmd);
      const { json } = globals(cmd);
      const noWait = opts.async === true || opts.hold === true;
      const made = await api.invokeFunction(fn, params, {
        wait: !noWait,
        hold: opts.hold === true,
        ...(opts.session ? { sessionId: opts.session } : {}),
        ...(key !== undefined ? { idempotencyKey: key } : {}),
      });
      const { call } = made;
      if (made.replayed) process.stderr.write(`replayed: the call made first with this key (call ${call.callNum}, ${call.status})\n`);
      // An api older than --hold ignores it and runs the call: say so, the user expected it stored.
      else if (opts.hold && call.status !== 'HELD') process.stderr.write(`ferry: the cluster did not hold call ${call.callNum} (it is ${call.status}): its api is older than --hold\n`);
      if (noWait) {
        process.stdout.write(json ? JSON.stringify(call, null, 2) + '\n' : `${call.id}\n`);
        return;
      }
      // Still running when the api stopped waiting (202), or a replay of a call not ended yet
      // (200 with the call as it stands): keep waiting here.
      finish(json, made.status === 200 && FINISHED.has(made.call.status) ? made.call : await waitForCall(api, call.id, json));
    });
}
