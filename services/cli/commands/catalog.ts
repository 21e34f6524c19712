import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { FunctionView } from '../../../shared/protocol/domain.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { ago, show } from '../output.js';
import { packFunction } from '../pack.js';
import { envSuffix, namesText, policySuffix, retryText, stuckText } from '../function-view.js';
import { envFieldsOf, pushFieldsOf, type DeployOptions } from '../push-fields.js';
import { UploadBar } from '../upload-bar.js';

/**
 * An api older than retry policies, stuckAfterMs or env ignores their fields and answers a
 * version without them: say so, rather than let the user believe the version retries.
 */
function warnDropped(sent: Record<string, string>, sentEnv: boolean, v: FunctionView): void {
  const lost: string[] = [];
  if (sent['retryMaxAttempts'] !== undefined && v.retry === undefined) lost.push('the retry policy');
  if (sent['stuckAfterMs'] !== undefined && v.stuckAfterMs === undefined) lost.push('--stuck-after');
  if ((sentEnv || sent['keepEnv'] !== undefined) && v.env === undefined) lost.push('the env and secrets');
  if (lost.length > 0) process.stderr.write(`ferry: the cluster did not keep ${lost.join(' and ')}: its api is older than this CLI\n`);
}

/** Commander's way to take an option more than once. */
const collect = (value: string, before: string[]): string[] => [...before, value];

/** `ferry runtime add|ls|rm`. */
export function runtimeCommands(runtime: Command): void {
  runtime
    .command('add <image>')
    .description('register a runtime, or replace the one of that name')
    .option('--name <name>', 'runtime name (default: the image)')
    .option('--path <path>', 'folder the code goes to in the container', '/ws')
    .option('--deps <command>', 'dependencies command, run once per function version (e.g. "pip3 install -r requirements.txt")', '')
    .option('--run <command>', 'exec: the command run per call; agent: the handler, file[:function]')
    .option('--protocol <protocol>', 'exec or agent', 'exec')
    .addHelpText('after', '\nExamples:\n  ferry runtime add pythonruntime --deps "pip3 install -r requirements.txt" --run "python3 test.py"\n  ferry runtime add pythonruntime --name py-fast --protocol agent --run test.py:main')
    .action(async (image: string, o: { name?: string; path: string; deps: string; run?: string; protocol: string }, cmd: Command) => {
      if (!o.run) throw usage('--run is required (the command, or for agent runtimes the handler file)');
      if (o.protocol !== 'exec' && o.protocol !== 'agent') throw usage('--protocol must be exec or agent');
      const rt = await client(cmd).registerRuntime({
        ...(o.name ? { name: o.name } : {}),
        image,
        path: o.path,
        dependencies: o.deps,
        run: o.run,
        protocol: o.protocol,
      });
      const { json } = globals(cmd);
      process.stdout.write(json ? JSON.stringify(rt, null, 2) + '\n' : `runtime ${rt.name} registered (${rt.image}, ${rt.protocol})\n`);
    });
  runtime
    .command('ls')
    .description('list runtimes')
    .action(async (_o: unknown, cmd: Command) => {
      const { runtimes } = await client(cmd).listRuntimes();
      show(globals(cmd).json, { runtimes }, ['name', 'image', 'protocol', 'path', 'run', 'dependencies'], runtimes.map((r) => [r.name, r.image, r.protocol, r.path, r.run, r.dependencies || '-']));
    });
  runtime
    .command('rm <name>')
    .description('delete a runtime no function uses')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await client(cmd).deleteRuntime(name);
      process.stdout.write(`runtime ${name} deleted\n`);
    });

}

/** `ferry fn deploy|ls|versions|rm`. */
export function functionCommands(fn: Command): void {
  fn.command('deploy <source>')
    .description('push a new version from a folder (packed, honouring .ferryignore) or a .tar.gz')
    .requiredOption('--name <fn>', 'function name')
    .requiredOption('--runtime <rt>', 'runtime to run it with')
    .option('--timeout <duration>', 'per-call timeout: 500ms, 30s, 5m, 1h or plain ms')
    .option('--memory <mb>', 'per-call memory limit in MiB')
    .option('--retries <n>', 'retry a failed execution (ERROR, TIMEOUT, STUCK) up to n times: n + 1 executions in all (default: none)')
    .option('--backoff <duration>', 'wait before the first retry (needs --retries)')
    .option('--backoff-factor <x>', 'each later wait is the one before times x, from 1 to 10 (needs --retries)')
    .option('--max-backoff <duration>', 'no wait longer than this (needs --retries)')
    .option('--stuck-after <duration>', 'kill an execution that reports nothing (progress, metrics, log) for this long, as STUCK (at least 100ms)')
    .option('--env <NAME=VALUE>', "a variable of the function's process, shown by the cluster (repeatable)", collect, [])
    .option('--secret <NAME=VALUE>', 'a secret variable: stored encrypted, never shown (repeatable)', collect, [])
    .option('--keep-env', "start from the latest version's env and secrets (those named here replace theirs)")
    .addHelpText(
      'after',
      `
Durations take 500ms, 30s, 5m, 1h or plain ms. Back-off options left out keep the cluster's defaults.
Each push is a version with its own env and secrets: none unless given, or kept with --keep-env.
A bare NAME (--secret API_TOKEN) takes its value from this shell, off the command line.

Examples:
  ferry fn deploy runtimes/python/dice --name dice --runtime pythonruntime
  ferry fn deploy build/fn.tar.gz --name resize --runtime noderuntime --timeout 30s
  ferry fn deploy ./etl --name etl --runtime pythonruntime --retries 3 --backoff 1s --backoff-factor 2 --max-backoff 1m
  ferry fn deploy ./etl --name etl --runtime pythonruntime --timeout 1h --stuck-after 5m
  ferry fn deploy ./etl --name etl --runtime pythonruntime --env REGION=eu --secret API_TOKEN
  ferry fn deploy ./etl --name etl --runtime pythonruntime --keep-env`,
    )
    .action(async (source: string, o: DeployOptions & { name: string }, cmd: Command) => {
      const { json } = globals(cmd);
      // Checked before packing: a bad value costs no upload.
      const fields = pushFieldsOf(o);
      const envFields = envFieldsOf(o);
      const packed = await packFunction(source);
      const bar = !json && process.stderr.isTTY ? new UploadBar() : null;
      try {
        const v = await client(cmd)
          .pushFunction(o.name, packed.file, [...Object.entries(fields), ...envFields], { onProgress: bar?.update })
          .finally(() => bar?.stop());
        const files = packed.entries === null ? '' : `, ${packed.entries} files`;
        process.stdout.write(json ? JSON.stringify(v, null, 2) + '\n' : `deployed ${v.name}@${v.version} (${v.size} bytes${files}, sha256 ${v.sha256.slice(0, 12)})${policySuffix(v)}${envSuffix(v)}\n`);
        warnDropped(fields, envFields.length > 0, v);
      } finally {
        if (packed.file !== source) await rm(path.dirname(packed.file), { recursive: true, force: true });
      }
    });
  fn.command('ls')
    .description('list functions (latest version of each)')
    .action(async (_o: unknown, cmd: Command) => {
      const { functions } = await client(cmd).listFunctions();
      show(
        globals(cmd).json,
        { functions },
        ['name', 'version', 'runtime', 'size', 'timeout', 'memory', 'retries', 'stuck after', 'pushed'],
        functions.map((f) => [f.name, f.version, f.runtime, f.size, `${f.timeoutMs}ms`, `${f.memoryMb}MiB`, retryText(f.retry), stuckText(f), ago(f.createdAt)]),
      );
    });
  fn.command('versions <fn>')
    .description('list every version of a function')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { versions } = await client(cmd).listFunctionVersions(name);
      show(
        globals(cmd).json,
        { versions },
        ['version', 'sha256', 'size', 'retries', 'stuck after', 'env', 'secrets', 'pushed'],
        versions.map((f) => [
          f.version,
          f.sha256.slice(0, 12),
          f.size,
          retryText(f.retry),
          stuckText(f),
          namesText(Object.keys(f.env ?? {})),
          namesText(f.secrets ?? []),
          ago(f.createdAt),
        ]),
      );
    });
  fn.command('rm <fn>')
    .description('delete a function and all its versions')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = await client(cmd).deleteFunction(name);
      process.stdout.write(`function ${name} deleted (${out.deletedVersions} versions)\n`);
    });
}
