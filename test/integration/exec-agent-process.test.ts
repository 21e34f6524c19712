import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecAgentChannel } from '../../services/worker/miniworker/exec-agent-channel.js';
import { repoDir } from '../helpers/fixtures.js';
import { makeTempDir } from '../helpers/temp.js';

// The built exec agent as a plain process on the host, driven by the miniworker's channel: the
// byte-level contract a warm exec call relies on, with no container around it.
const AGENT = path.join(repoDir, 'dist', 'exec-agent', 'ferry-exec-agent');

interface Ran {
  code: number;
  stdout: Buffer;
  stderr: string;
}

describe('the exec agent', () => {
  let dir: { dir: string; cleanup: () => Promise<void> };
  let channel: ExecAgentChannel;
  let agent: ChildProcess;
  const run = async (command: string, env: Record<string, string> = {}, stdin = Buffer.alloc(0)): Promise<Ran> => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const code = await channel.run(command, env, stdin, { stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => err.push(Buffer.from(b)) });
    return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
  };

  beforeAll(async () => {
    dir = await makeTempDir('ferry-exec-agent-');
    const socket = path.join(dir.dir, 'agent.sock');
    channel = await ExecAgentChannel.listen(socket);
    agent = spawn(AGENT, [socket], { cwd: dir.dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', KEPT: 'from the container', SHADOWED: 'from the container' }, stdio: 'ignore' });
    await channel.ready(10_000);
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => agent?.once('exit', resolve));
    await channel?.close();
    await exited; // the agent leaves when its socket closes
    await dir?.cleanup();
  });

  it('runs the command with sh in its folder, the call\'s variables over the container\'s, and says how it exited', async () => {
    const r = await run('echo "$KEPT / $SHADOWED / $CALL_ONLY / $(pwd)"; echo oops >&2; exit 3', { SHADOWED: 'from the call', CALL_ONLY: 'x=y' });
    expect(r).toEqual({ code: 3, stdout: Buffer.from(`from the container / from the call / x=y / ${dir.dir}\n`), stderr: 'oops\n' });
    expect((await run('kill -TERM $$')).code).toBe(128 + 15);
    expect((await run('no-such-command-here')).code).toBe(127);
  });

  it('pipes a megabyte of stdin through while the command writes more than a pipe holds before reading it', async () => {
    const input = Buffer.alloc(1024 * 1024, 'p');
    const r = await run('head -c 3000000 /dev/zero; cat; echo end >&2', {}, input);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(3_000_000 + input.length);
    expect(r.stdout.subarray(3_000_000).equals(input)).toBe(true);
    expect(r.stderr).toBe('end\n');
  });

  it('ends a call when its command exits, though a process it left behind holds its output open or writes on', async () => {
    const r = await run('sleep 300 & echo $!');
    expect(r.code).toBe(0);
    process.kill(Number(r.stdout.toString()));
    // One that writes on without end: the call still ends, with a bounded rest of its output.
    const flood = await run('yes & echo $! >&2');
    expect(flood.code).toBe(0);
    process.kill(Number(flood.stderr));
    expect((await run('echo next')).stdout.toString()).toBe('next\n');
  });
});
