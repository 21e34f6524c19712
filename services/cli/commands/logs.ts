import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import type { LogData } from '../../../packages/client/src/index.js';
import { eventJson, followCall } from '../call-events.js';
import { client, globals } from '../context.js';
import { printLogs } from '../logs-view.js';

/**
 * `ferry logs -f`: ctx.log lines as they happen, then the finished call's logs without the lines
 * already printed. `--json`: the `log` events and the `end` event, one JSON line each.
 */
async function followLogs(api: ApiClient, ref: string, json: boolean): Promise<void> {
  const shown: LogData[] = [];
  const final = await followCall(api, ref, (e) => {
    if (json) {
      if (e.event === 'log' || e.event === 'end') process.stdout.write(eventJson(e) + '\n');
    } else if (e.event === 'log') {
      process.stdout.write(e.data.line + '\n');
      shown.push(e.data);
    }
  });
  if (json) return;
  // The call keeps the lines of its last attempt; earlier attempts' lines were printed once, live.
  const ofFinalAttempt = shown.filter((l) => l.attempt === final.attempt).map((l) => l.line);
  printLogs(final.logs ?? { stdout: '', stderr: '', truncated: false }, ofFinalAttempt);
}

export function logsCommand(cmd: Command): void {
  cmd
    .option('-f, --follow', 'print ctx.log lines as the call logs them, then its stdout and stderr once it ends')
    .addHelpText('after', '\nExamples:\n  ferry logs 12\n  ferry logs -f 12\n  ferry logs -f 12 --json | jq -r \'select(.event == "log") | .line\'')
    .action(async (ref: string, opts: { follow?: boolean }) => {
      const api = client(cmd);
      const { json } = globals(cmd);
      if (opts.follow) return followLogs(api, ref, json);
      const logs = await api.getCallLogs(ref);
      if (json) process.stdout.write(JSON.stringify(logs, null, 2) + '\n');
      else printLogs(logs);
    });
}
