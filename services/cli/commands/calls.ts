import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { eventJson, followCall } from '../call-events.js';
import { callFilterOf, limitOf, STATUSES } from '../call-filter.js';
import { callFailed, finish, showCall, showCalls } from '../call-view.js';
import { waitForCall } from '../call-wait.js';
import { client, globals } from '../context.js';
import { FollowView } from '../follow-view.js';

/**
 * `ferry call --follow`: the call's events as they happen, then the call as `ferry call` shows it.
 * @throws CliError when the call does not end DONE (exit 1), or as {@link followCall} does.
 */
async function followToEnd(api: ApiClient, ref: string, json: boolean): Promise<void> {
  const view = json ? null : new FollowView(process.stdout);
  const final = await followCall(api, ref, (e) => {
    if (view) view.show(e);
    else process.stdout.write(eventJson(e) + '\n');
  });
  if (!json) {
    process.stdout.write('\n');
    showCall(false, final);
  }
  if (final.status !== 'DONE') throw callFailed(json, final);
}

export function callsCommand(cmd: Command): void {
  cmd
    .option('--fn <name>', 'only calls of this function')
    .option('--status <status>', `only calls in this status (${STATUSES.join(', ')})`)
    .option('--session <id>', 'only calls of this session')
    .option('--limit <n>', 'how many', '20')
    .option('--follow', 'keep printing new calls as they arrive (Ctrl-C to stop)')
    .addHelpText('after', '\nExamples:\n  ferry calls --fn dice --status ERROR\n  ferry calls --follow\n  ferry calls --json | jq .calls[0].result')
    .action(async (opts: { fn?: string; status?: string; session?: string; limit: string; follow?: boolean }) => {
      const query = { ...callFilterOf(opts), limit: limitOf(opts.limit, 1000) };
      const api = client(cmd);
      const { json } = globals(cmd);
      const page = await api.listCalls(query);
      showCalls(json, page.calls, { nextCursor: page.nextCursor });
      if (!opts.follow) return;
      let newest = page.calls[0]?.callNum ?? 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1_000));
        const fresh = (await api.listCalls(query)).calls.filter((c) => c.callNum > newest).reverse();
        for (const c of fresh) {
          process.stdout.write(json ? JSON.stringify(c) + '\n' : `${c.callNum}\t${c.id}\t${c.funcName}@${c.version}\t${c.status}\n`);
          newest = Math.max(newest, c.callNum);
        }
      }
    });
}

export function callCommand(cmd: Command): void {
  cmd
    .option('-f, --follow', 'print status changes, progress, metrics and ctx.log lines as they happen, then the call; exit 1 unless it ends DONE')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry call 12\n  ferry call V1StGXR8_Z5jdHi6B-myT --json\n  ferry call 12 --follow\n  ferry call 12 --follow --json | jq -c \'select(.event == "progress")\'',
    )
    .action(async (ref: string, opts: { follow?: boolean }) => {
      const { json } = globals(cmd);
      if (opts.follow) await followToEnd(client(cmd), ref, json);
      else showCall(json, await client(cmd).getCall(ref));
    });
}

export function waitCommand(cmd: Command): void {
  cmd
    .addHelpText('after', '\nExamples:\n  id=$(ferry invoke dice --async) && ferry wait "$id"\n  ferry wait 12 --json | jq .metrics')
    .action(async (ref: string) => {
      const { json } = globals(cmd);
      finish(json, await waitForCall(client(cmd), ref, json));
    });
}
