import Docker from 'dockerode';
import type { Dispatch } from '../../shared/protocol/worker-messages.js';
import { finalOf } from './fake-api.js';
import type { WorkerCluster } from './worker-cluster.js';

const docker = new Docker();

export type Runtime = Dispatch['runtime'];

export const pythonRuntime = (protocol: 'exec' | 'agent', run: string, dependencies = ''): Runtime => ({
  name: 'pythonruntime', image: 'pythonruntime', path: '/ws', dependencies, run, protocol,
});
export const nodeRuntime = (protocol: 'exec' | 'agent', run: string): Runtime => ({
  name: 'noderuntime', image: 'noderuntime', path: '/ws', dependencies: '', run, protocol,
});

/** A call's end as its node reported it: a `finished` outcome, or a `failed` report's code. */
export interface CallEnd {
  msgType: string;
  status: string;
  result: string;
  error: { code: string; message: string; final?: boolean } | null;
  logs: { stdout: string; stderr: string; truncated: boolean };
  exitCode?: number | null;
  code?: string;
  retryable?: boolean;
}

/** Containers of node `nodeId`, running or not. */
export async function containersOf(nodeId: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`ferry.node=${nodeId}`] } })).length;
}

/** Pushes `files` as function `call.function` (default `fn`) and runs one call of it on the cluster's node. */
export async function runCall(
  c: WorkerCluster,
  files: Record<string, string>,
  runtime: Runtime,
  call: Partial<Dispatch> & Pick<Dispatch, 'callId'>,
): Promise<CallEnd> {
  const bundle = await c.push(call.function ?? 'fn', files);
  c.api.dispatch(c.nodeId, c.call({ ...bundle, runtime, ...call }));
  const m = await c.api.finished(call.callId, call.attempt ?? 1, 60_000);
  return { ...(finalOf(m) as unknown as CallEnd), msgType: m.msgType };
}

/** Parses a call's JSON result. */
export const resultOf = <T>(end: CallEnd): T => JSON.parse(end.result) as T;
