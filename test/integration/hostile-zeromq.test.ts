import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_HEADER, unbatch } from '../../shared/protocol/batch.js';
import { decodeEvent, encodeEvent, encodeFrames } from '../../shared/protocol/envelope.js';
import { apiToWorkerSchemas } from '../../shared/protocol/worker-messages.js';
import type { RefusedCounts } from '../../shared/refusals.js';
import { MAX_FRAME_BYTES } from '../../shared/transport/frame-limit.js';
import { refusedSince, startHostileCluster, type HostileCluster, type RefusedByDaemon } from '../helpers/hostile-cluster.js';
import { rawPeer, type RawPeer } from '../helpers/raw-peer.js';
import { waitUntil } from '../helpers/temp.js';

type Daemon = keyof RefusedByDaemon;
/** Frames for each daemon: the db and the registry take requests, the api's worker socket a worker's messages. */
type PerDaemon = Record<Daemon, Buffer[]>;

const header = Buffer.from('FERRY01');
const request = (msgType: string, content: unknown, extra: Record<string, unknown> = {}): Buffer[] =>
  encodeFrames({ id: `hx-${Math.random().toString(36).slice(2)}`, msgType, content, ...extra } as never);
/** A worker's message, with fields an envelope of this version does not have when `extra` says so. */
const event = (msgType: string, content: unknown, extra: Record<string, unknown> = {}): Buffer[] => encodeFrames({ msgType, content, ...extra } as never);
const same = (frames: Buffer[]): PerDaemon => ({ db: frames, registry: frames, api: frames });

/** What a good request gets: each daemon still answers. A worker the api does not know is told to say hello. */
const good: PerDaemon = { db: request('ping', {}), registry: request('ping', {}), api: encodeEvent('heartbeat', { running: 0, warm: [] }) };
const answeredGood = { db: 'ok', registry: 'ok', api: 'reconnect' };

/**
 * The api's worker socket as a raw peer that never said hello: each message it sends is answered
 * with a `refused` (its code is the answer) or, for a good heartbeat, `reconnect`.
 */
function workerSocketPeer(peer: RawPeer): (frames: Buffer[]) => Promise<string> {
  const received: Buffer[][] = [];
  return async (frames) => {
    await peer.send(frames);
    while (received.length === 0) received.push(...unbatch(await peer.receive()));
    const msg = decodeEvent(received.shift()!, apiToWorkerSchemas);
    return msg.msgType === 'refused' ? msg.content.code : msg.msgType;
  };
}

// Fake node: what is under test is the daemons' sockets; a container adds nothing.
describe('hostile ZeroMQ input to the db, the registry and the api worker socket (real cluster, fake driver)', () => {
  let h: HostileCluster;
  let peers: Record<Daemon, RawPeer>;
  let ask: Record<Daemon, (frames: Buffer[]) => Promise<string>>;
  beforeAll(async () => {
    h = await startHostileCluster('hx-zmq');
    peers = {
      db: rawPeer(h.c.db.endpoint),
      registry: rawPeer(h.c.registry.endpoint),
      api: rawPeer(h.c.api.endpoint, { routingId: 'hx-raw-node' }),
    };
    ask = { db: (f) => peers.db.ask(f), registry: (f) => peers.registry.ask(f), api: workerSocketPeer(peers.api) };
  });
  afterAll(async () => {
    for (const p of Object.values(peers ?? {})) p.close();
    await h?.close();
  });

  const answers = async (frames: PerDaemon): Promise<Record<Daemon, string>> => ({
    db: await ask.db(frames.db),
    registry: await ask.registry(frames.registry),
    api: await ask.api(frames.api),
  });

  /**
   * Sends each hostile input to every daemon; each must answer `code`, count it as refused (and
   * log it), and then answer a good request; the cluster must still run a call, with the calls
   * before intact.
   */
  async function refusedEverywhere(inputs: PerDaemon[], code: string): Promise<void> {
    const before = await h.refused();
    for (const frames of inputs) {
      expect(await answers(frames)).toEqual({ db: code, registry: code, api: code });
      expect(await answers(good)).toEqual(answeredGood);
    }
    const after = await h.refused();
    const grown = (d: Daemon): RefusedCounts => refusedSince(before[d], after[d]);
    expect({ db: grown('db'), registry: grown('registry'), api: grown('api') }).toEqual({
      db: { [code]: inputs.length },
      registry: { [code]: inputs.length },
      api: { [code]: inputs.length },
    });
    for (const d of ['db', 'registry', 'api'] as const) {
      await waitUntil(() => h.c[d].logs.some((l) => l['msg'] === 'input refused' && l['code'] === code), `the ${d} logs its first ${code} refusal`);
    }
    await h.stillServes();
  }

  it('answers malformed frames (a body that is not msgpack, not a map, a lone header, a number for an id, a broken batch) with BAD_FRAME', async () => {
    await refusedEverywhere(
      [
        same([header, Buffer.from([0xc1, 0xff, 0x00, 0x13])]),
        same([header, Buffer.from('garbage that is no msgpack at all \xc1')]),
        same([header, Buffer.from([0x2a])]),
        same([header]),
        same(encodeFrames({ id: 42, msgType: 'ping', content: {} } as never)),
        same([Buffer.from(BATCH_HEADER), Buffer.from([1, 2, 3])]),
      ],
      'BAD_FRAME',
    );
  });

  it('answers an unknown protocol version or header with UNSUPPORTED_PROTOCOL', async () => {
    await refusedEverywhere([same([Buffer.from('FERRY02'), ...good.db.slice(1)]), same([Buffer.from('HTTP/1.1 GET /'), Buffer.from('x')])], 'UNSUPPORTED_PROTOCOL');
  });

  it('answers an envelope field this protocol version does not have with BAD_FRAME', async () => {
    await refusedEverywhere(
      [{ db: request('ping', {}, { priority: 'high' }), registry: request('ping', {}, { priority: 'high' }), api: event('heartbeat', { running: 0, warm: [] }, { priority: 'high' }) }],
      'BAD_FRAME',
    );
  });

  it('answers an unknown msgType with UNKNOWN_MSG_TYPE', async () => {
    await refusedEverywhere(
      [
        { db: request('dropTables', {}), registry: request('format', {}), api: event('shutdown', {}) },
        { db: request('__proto__', {}), registry: request('constructor', {}), api: event('toString', {}) },
      ],
      'UNKNOWN_MSG_TYPE',
    );
  });

  it(`drops the connection of a peer that sends a frame past ${MAX_FRAME_BYTES} bytes, then answers it when it connects again`, async () => {
    const before = await h.refused();
    const oversize = Buffer.alloc(MAX_FRAME_BYTES + 1);
    const frames: PerDaemon = { db: [...good.db, oversize], registry: [...good.registry, oversize], api: [...good.api, oversize] };
    for (const d of ['db', 'registry', 'api'] as const) {
      // Waited for from before the send: the drop may come before the send resolves.
      const dropped = peers[d].dropped();
      await peers[d].send(frames[d]);
      await dropped;
    }
    expect(await answers(good)).toEqual(answeredGood);
    // Dropped by ZeroMQ before any of it reached the daemon: nothing to count.
    expect(await h.refused()).toEqual(before);
    await h.stillServes();
  });

  it('answers an empty message (one empty frame: ZeroMQ has no message of none) with BAD_FRAME', async () => {
    await refusedEverywhere([same([Buffer.alloc(0)])], 'BAD_FRAME');
  });

  it('answers a message of the right shape whose content has the wrong types, or a hello naming another node, with BAD_REQUEST', async () => {
    const hello = { incarnation: 'x', driver: 'fake', capacity: { maxContainers: 64, memoryMb: 1024 }, images: [], warm: [], running: [] };
    await refusedEverywhere(
      [
        {
          db: request('createCall', { id: 42, funcName: ['hx-echo'], version: 'one' }),
          registry: request('getPart', { sha256: 7, offset: '0', length: -1 }),
          api: event('heartbeat', { running: 'many', warm: {} }),
        },
        {
          db: request('listCalls', { limit: 'all', cursor: { $gt: '' } }),
          registry: request('hasBundle', { sha256: '../../etc/passwd' }),
          // Taken, it would have hx-zmq's calls sent to this peer.
          api: event('hello', { ...hello, nodeId: 'hx-zmq' }),
        },
      ],
      'BAD_REQUEST',
    );
  });
});
