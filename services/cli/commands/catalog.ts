import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { FunctionVersion, Runtime } from '../../../shared/protocol/domain.js';
import { usage } from '../cli-error.js';
import { client, globals } from '../context.js';
import { ago, show } from '../output.js';
import { packFunction } from '../pack.js';
import { uploadBundle } from '../upload.js';

export function registerCatalogCommands(program: Command): void {
  const runtime = program.command('runtime').description('manage runtimes (container images and how to run code in them)');
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
      const rt = await client(cmd).post<Runtime>('/v1/runtimes', {
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
      const { runtimes } = await client(cmd).get<{ runtimes: Runtime[] }>('/v1/runtimes');
      show(globals(cmd).json, { runtimes }, ['name', 'image', 'protocol', 'path', 'run', 'dependencies'], runtimes.map((r) => [r.name, r.image, r.protocol, r.path, r.run, r.dependencies || '-']));
    });
  runtime
    .command('rm <name>')
    .description('delete a runtime no function uses')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await client(cmd).delete(`/v1/runtimes/${encodeURIComponent(name)}`);
      process.stdout.write(`runtime ${name} deleted\n`);
    });

  const fn = program.command('fn').description('manage functions and their versions');
  fn.command('deploy <source>')
    .description('push a new version from a folder (packed, honouring .ferryignore) or a .tar.gz')
    .requiredOption('--name <fn>', 'function name')
    .requiredOption('--runtime <rt>', 'runtime to run it with')
    .option('--timeout <ms>', 'per-call timeout in ms')
    .option('--memory <mb>', 'per-call memory limit in MiB')
    .addHelpText('after', '\nExamples:\n  ferry fn deploy runtimes/python/dice --name dice --runtime pythonruntime\n  ferry fn deploy build/fn.tar.gz --name resize --runtime noderuntime --timeout 30000')
    .action(async (source: string, o: { name: string; runtime: string; timeout?: string; memory?: string }, cmd: Command) => {
      const { url, json } = globals(cmd);
      const packed = await packFunction(source);
      try {
        const fields: Record<string, string> = { runtime: o.runtime };
        if (o.timeout) fields['timeoutMs'] = o.timeout;
        if (o.memory) fields['memoryMb'] = o.memory;
        const v = await uploadBundle<FunctionVersion>(`${url.replace(/\/+$/, '')}/v1/functions/${encodeURIComponent(o.name)}`, packed.file, fields, !json && process.stderr.isTTY);
        process.stdout.write(json ? JSON.stringify(v, null, 2) + '\n' : `deployed ${v.name}@${v.version} (${v.size} bytes${packed.entries === null ? '' : `, ${packed.entries} files`}, sha256 ${v.sha256.slice(0, 12)})\n`);
      } finally {
        if (packed.file !== source) await rm(path.dirname(packed.file), { recursive: true, force: true });
      }
    });
  fn.command('ls')
    .description('list functions (latest version of each)')
    .action(async (_o: unknown, cmd: Command) => {
      const { functions } = await client(cmd).get<{ functions: FunctionVersion[] }>('/v1/functions');
      show(globals(cmd).json, { functions }, ['name', 'version', 'runtime', 'size', 'timeout', 'memory', 'pushed'], functions.map((f) => [f.name, f.version, f.runtime, f.size, `${f.timeoutMs}ms`, `${f.memoryMb}MiB`, ago(f.createdAt)]));
    });
  fn.command('versions <fn>')
    .description('list every version of a function')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { versions } = await client(cmd).get<{ versions: FunctionVersion[] }>(`/v1/functions/${encodeURIComponent(name)}/versions`);
      show(globals(cmd).json, { versions }, ['version', 'sha256', 'size', 'pushed'], versions.map((f) => [f.version, f.sha256.slice(0, 12), f.size, ago(f.createdAt)]));
    });
  fn.command('rm <fn>')
    .description('delete a function and all its versions')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const out = await client(cmd).delete<{ deletedVersions: number }>(`/v1/functions/${encodeURIComponent(name)}`);
      process.stdout.write(`function ${name} deleted (${out.deletedVersions} versions)\n`);
    });
}
