import os from 'node:os';
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

/**
 * Nice value of a check thread. A check is bulk work: when the host is short of CPU, the api's
 * event loop, the other daemons and the functions go first, and an upload is checked more slowly
 * (on a busy 2-core host, warm invokes during a 100 MiB push: p99 ~50 ms at 19, ~75 at 10, ~110
 * at 0; the push itself ~1.5× slower at 19 than at 0). An idle host checks at full speed.
 */
const CHECK_NICE = 19;

if (!parentPort) throw new Error('check-thread runs as a worker thread');
// On Linux a nice value is per thread, and pid 0 is the calling thread; elsewhere it would be
// the whole api's, so it is left alone there. Refused (a sandbox without setpriority): the check
// runs at the api's priority, as it would anywhere else.
if (process.platform === 'linux') {
  try {
    os.setPriority(0, CHECK_NICE);
  } catch {
    // keep the inherited priority
  }
}
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
