import { readFile } from 'node:fs/promises';

/** A V8 `.cpuprofile` (as `node --cpu-prof` writes it): a call tree, and which node each sample hit. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  /** µs of the monotonic clock (process.hrtime's) when profiling began. */
  startTime: number;
  /** µs before each sample. */
  timeDeltas: number[];
}

/** Where the api's time went: ms of CPU by part of the api, and the time spent placing calls. */
export interface ApiProfile {
  /** Sampled ms the process was on the CPU (idle samples left out). */
  busyMs: number;
  /** ms by part, largest first (see {@link partOf}). */
  parts: [part: string, ms: number][];
  /** ms within NodeRegistry.place (choosing a node for a call), wherever it was called from. */
  placeMs: number;
  /** The functions that spent the most ms themselves (self time), as `name file`, most first. */
  topSelf: [fn: string, ms: number][];
}

/**
 * The part of the api a sample belongs to: that of the api's innermost own frame on its stack
 * (`services/api/…`), so library work (zod, msgpack, ZeroMQ, Express) counts for the api code
 * that asked for it; samples with no api frame go by what V8 calls them (GC, program).
 */
function partOf(urls: string[], leafName: string): string {
  const own = urls.find((u) => u.includes('/services/api/'));
  if (own === undefined) {
    if (leafName === '(garbage collector)') return 'garbage collection';
    if (leafName === '(program)') return 'native, outside JS (V8, libuv, ZeroMQ threads\' hand-off)';
    return 'Node and libraries outside api code (HTTP parsing, ZeroMQ receive loop)';
  }
  const file = own.slice(own.indexOf('/services/api/') + '/services/api/'.length);
  if (/^(scheduler|node-registry|delayed-calls)\.js$/.test(file)) return 'scheduler (queue, placement, dispatch, heartbeats)';
  if (/^(worker-channel|node-admission)\.js$/.test(file)) return 'worker link (decode, admit)';
  if (file.startsWith('calls/')) return 'call lifecycle (call state, db writes)';
  if (file.startsWith('http/') || file.startsWith('auth/')) return 'HTTP routes and auth';
  if (file === 'metrics.js') return 'metrics';
  return 'other api code';
}

/** Reads a `.cpuprofile` of the api and sums its samples by part, those taken within `window` (µs of process.hrtime) only. */
export async function apiProfile(file: string, window: { fromUs: number; toUs: number }): Promise<ApiProfile> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const parts = new Map<string, number>();
  const self = new Map<string, number>();
  let busyMs = 0;
  let placeMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (at < window.fromUs || at > window.toUs || leaf.callFrame.functionName === '(idle)') return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    busyMs += ms;
    const urls: string[] = [];
    let inPlace = false;
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const frame = byId.get(node)!.callFrame;
      urls.push(frame.url);
      if (frame.functionName === 'place' && frame.url.endsWith('/services/api/node-registry.js')) inPlace = true;
    }
    if (inPlace) placeMs += ms;
    const where = `${leaf.callFrame.functionName || '(anonymous)'} ${leaf.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '')}`.trim();
    self.set(where, (self.get(where) ?? 0) + ms);
    const part = partOf(urls, leaf.callFrame.functionName);
    parts.set(part, (parts.get(part) ?? 0) + ms);
  });
  if (busyMs === 0) throw new Error(`${file} holds no busy sample between ${window.fromUs} and ${window.toUs} µs`);
  const top = (m: Map<string, number>, n?: number): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { busyMs, parts: top(parts), placeMs, topSelf: top(self, 15) };
}
