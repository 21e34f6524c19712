import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Call } from '../../../shared/protocol/domain.js';
import { finish } from '../call-view.js';
import { waitForCall } from '../call-wait.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';

/** `-p key=value`: values that parse as JSON (numbers, true, {"a":1}) are taken as JSON, else as text. */
function parseParam(pair: string, into: Record<string, unknown>): Record<string, unknown> {
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

async function parseData(data: string): Promise<unknown> {
  const text = data.startsWith('@') ? await readFile(data.slice(1), 'utf8').catch(() => { throw usage(`cannot read ${data.slice(1)}`); }) : data;
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`-d must be JSON (or @file.json): ${text.slice(0, 80)}`);
  }
}

export function registerInvoke(program: Command): void {
  program
    .command('invoke <fn>')
    .description('call a function (`name` or `name@version`): prints the result, exit 1 if the call fails')
    .option('-p, --param <key=value>', 'a parameter (repeatable)', (v: string, acc: Record<string, unknown>) => parseParam(v, acc), {})
    .option('-d, --data <json>', "all parameters as JSON, or @file.json")
    .option('--async', 'do not wait: print the call id')
    .option('--session <id>', 'group the call into a session')
    .addHelpText('after', '\nExamples:\n  ferry invoke dice -p roll=4d6\n  ferry invoke dice@2 -d \'{"roll":"2d20"}\'\n  ferry invoke dice -d @params.json --async')
    .action(async (fn: string, opts: { param: Record<string, unknown>; data?: string; async?: boolean; session?: string }, cmd: Command) => {
      if (opts.data && Object.keys(opts.param).length > 0) throw usage('use -p or -d, not both');
      const params = opts.data ? await parseData(opts.data) : opts.param;
      const api = client(cmd);
      const { json } = globals(cmd);
      const q = new URLSearchParams();
      if (!opts.async) q.set('wait', 'true');
      if (opts.session) q.set('sessionId', opts.session);
      const { status, body } = await api.requestWithStatus<Call & { id: string }>('POST', `/v1/functions/${encodeURIComponent(fn)}/invoke?${q}`, params);
      if (opts.async) {
        process.stdout.write(json ? JSON.stringify(body, null, 2) + '\n' : `${body.id}\n`);
        return;
      }
      // 202: still running when the api stopped waiting; keep waiting here.
      finish(json, status === 200 ? body : await waitForCall(api, body.id, json));
    });
}
