import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { client, globals } from '../context.js';
import { show } from '../output.js';

interface NodeView {
  nodeId: string;
  driver: string;
  capacity: { maxContainers: number; memoryMb: number };
  running: number;
  warm: { runtime: string; fn: string | null; busy: boolean }[];
  lastHeartbeatAgoMs: number;
}

const supervisor = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'supervisor', 'main.js');

export function registerClusterCommands(program: Command): void {
  program
    .command('up')
    .description('start a local one-node cluster in the foreground (the same as `npm start`; Ctrl-C stops it)')
    .addHelpText('after', '\nSettings come from FERRY_* variables (README, "Configuration"), e.g.\n  FERRY_HTTP_PORT=8080 ferry up')
    .action(async () => {
      const child = spawn(process.execPath, [supervisor], { stdio: 'inherit' });
      // Ctrl-C reaches the whole process group; the supervisor stops the daemons.
      process.on('SIGINT', () => undefined);
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
      process.exit(code);
    });

  program
    .command('status')
    .description('is the cluster up: the api, db, registry, nodes and their drivers')
    .action(async (_o: unknown, cmd: Command) => {
      const api = client(cmd);
      const { status, body } = await api.requestWithStatus<Record<string, unknown>>('GET', '/healthz').catch((err: unknown) => {
        throw err instanceof CliError ? err : new CliError(String(err));
      });
      const { nodes } = await api.get<{ nodes: NodeView[] }>('/v1/nodes');
      if (globals(cmd).json) {
        process.stdout.write(JSON.stringify({ url: api.base, health: body, nodes }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        `cluster ${api.base}: ${String(body['status'])} (db ${String(body['db'])}, registry ${String(body['registry'])}; ` +
          `${String(body['queued'])} queued, ${String(body['running'])} running)\n`,
      );
      for (const n of nodes) process.stdout.write(`  node ${n.nodeId}: ${n.driver} driver, ${n.running}/${n.capacity.maxContainers} busy\n`);
      if (nodes.length === 0) process.stdout.write('  no worker node has joined: calls will wait in the queue\n');
      if (status !== 200) process.exitCode = 1;
    });

  program
    .command('nodes')
    .description('worker nodes: capacity, running calls, warm containers, heartbeat age')
    .action(async (_o: unknown, cmd: Command) => {
      const { nodes } = await client(cmd).get<{ nodes: NodeView[] }>('/v1/nodes');
      show(
        globals(cmd).json,
        { nodes },
        ['node', 'driver', 'running', 'containers', 'memory', 'warm', 'heartbeat'],
        nodes.map((n) => [
          n.nodeId,
          n.driver,
          n.running,
          n.capacity.maxContainers,
          `${n.capacity.memoryMb}MiB`,
          n.warm.map((w) => `${w.fn ?? `${w.runtime} (empty)`}${w.busy ? '*' : ''}`).join(', ') || '-',
          `${(n.lastHeartbeatAgoMs / 1000).toFixed(1)}s ago`,
        ]),
      );
    });
}
