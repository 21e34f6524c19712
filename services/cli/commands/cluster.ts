import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { client, globals } from '../context.js';
import { show } from '../output.js';

const supervisor = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'supervisor', 'main.js');

export function upCommand(cmd: Command): void {
  cmd
    .addHelpText('after', '\nSettings come from FERRY_* variables (README, "Configuration"), e.g.\n  FERRY_HTTP_PORT=8080 ferry up')
    .action(async () => {
      const child = spawn(process.execPath, [supervisor], { stdio: 'inherit' });
      // Ctrl-C reaches the whole process group; the supervisor stops the daemons.
      process.on('SIGINT', () => undefined);
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
      process.exit(code);
    });
}

export function statusCommand(cmd: Command): void {
  cmd.action(async () => {
    const api = client(cmd);
    const health = await api.health();
    const { nodes } = await api.listNodes();
    if (globals(cmd).json) {
      process.stdout.write(JSON.stringify({ url: api.url, health, nodes }, null, 2) + '\n');
      return;
    }
    process.stdout.write(`cluster ${api.url}: ${health.status} (db ${health.db}, registry ${health.registry}; ${health.queued} queued, ${health.running} running)\n`);
    for (const n of nodes) process.stdout.write(`  node ${n.nodeId}: ${n.driver} driver, ${n.running}/${n.capacity.maxContainers} busy\n`);
    if (nodes.length === 0) process.stdout.write('  no worker node has joined: calls will wait in the queue\n');
    if (health.status !== 'ok') process.exitCode = 1;
  });
}

export function nodesCommand(cmd: Command): void {
  cmd.action(async () => {
    const { nodes } = await client(cmd).listNodes();
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
