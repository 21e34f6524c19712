import { parentPort, type MessagePort } from 'node:worker_threads';
import type { ApiToCheck, BundleLimits, CheckToApi, CheckVerdict, PoolToThread } from './check-messages.js';
import { TarWalk } from './tar-walk.js';

/**
 * A bundle-check thread: it inflates and walks uploaded bundles so the api's event loop never
 * does. Each check has its own port; checks on one thread take turns a message (one piece of
 * upload) at a time, so a large bundle does not hold up a small one for longer than a piece.
 */
function serve(port: MessagePort, limits: BundleLimits): void {
  const walk = new TarWalk(limits);
  let answered = false;
  const send = (msg: CheckToApi): void => port.postMessage(msg);
  const answer = (verdict: CheckVerdict): void => {
    if (answered) return;
    answered = true;
    send({ type: 'verdict', verdict });
  };
  port.on('message', (msg: ApiToCheck) => {
    if (answered) return; // refused already: what still arrives is not looked at
    switch (msg.type) {
      case 'bytes': {
        walk.feed(Buffer.from(msg.bytes.buffer, msg.bytes.byteOffset, msg.bytes.byteLength));
        const refusal = walk.refusal();
        if (refusal) answer(refusal);
        else send({ type: 'taken', bytes: msg.bytes.byteLength });
        return;
      }
      case 'end':
        walk.finish().then(answer, (err: unknown) => answer({ ok: false, message: `the bundle is not a readable tar.gz: ${String(err)}` }));
        return;
      default: {
        const unknown: never = msg;
        throw new Error(`unknown bundle check message ${JSON.stringify(unknown)}`);
      }
    }
  });
  // The api closes the port once it has the verdict, or when the upload is dropped.
  port.once('close', () => port.removeAllListeners('message'));
}

if (!parentPort) throw new Error('check-thread runs as a worker thread');
parentPort.on('message', (msg: PoolToThread) => {
  switch (msg.type) {
    case 'open':
      serve(msg.port, msg.limits);
      return;
    default: {
      const unknown: never = msg.type;
      throw new Error(`unknown bundle check message ${String(unknown)}`);
    }
  }
});
