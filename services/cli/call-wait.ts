import type { ApiClient } from './api-client.js';
import type { CallEvent, CallView } from '../../packages/client/src/index.js';
import { followCall, NoEventStream } from './call-events.js';
import { FINISHED, progressText } from './call-view.js';

const POLL_MS = 250;

/** What a call that is not running waits for; a countdown would go stale on a line redrawn only on events. */
function waitingFor(c: CallView): string {
  if (c.status === 'HELD') return `, until dispatched (ferry dispatch ${c.callNum})`;
  if (c.status === 'PENDING' && typeof c.nextAttemptAt === 'number') return ', retrying after a back-off';
  return '';
}

/** The spinner's line: `call 12 is RUNNING, 3/10 (30%)`. */
class WaitText {
  private head: string;
  private progress = '';

  constructor(ref: string) {
    this.head = `waiting for call ${ref}`;
  }

  text(): string {
    return this.progress ? `${this.head}, ${this.progress}` : this.head;
  }

  onCall(c: CallView): void {
    this.head = `call ${c.callNum} is ${c.status}${waitingFor(c)}`;
    this.progress = c.progress === null ? '' : progressText(c.progress);
  }

  onEvent(e: CallEvent): void {
    if (e.event === 'call' || e.event === 'end') this.onCall(e.data);
    else if (e.event === 'progress' && e.data.progress !== undefined) this.progress = progressText(e.data.progress);
  }
}

/** Reads the call every {@link POLL_MS}: for a cluster older than the event stream. */
async function pollCall(api: ApiClient, ref: string, onCall: (c: CallView) => void): Promise<CallView> {
  for (;;) {
    const call = await api.getCall(ref);
    if (FINISHED.has(call.status)) return call;
    onCall(call);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Waits until call `ref` has ended and resolves with its final record, following its event stream,
 * with a spinner on a terminal that shows its status and progress (none when `quiet`). A cluster
 * without the event stream is polled instead.
 * @throws CliError as {@link followCall} does.
 */
export async function waitForCall(api: ApiClient, ref: string, quiet: boolean): Promise<CallView> {
  // Loaded only for a terminal: a script's call waits without the spinner's modules.
  const spinner = quiet || !process.stderr.isTTY ? null : (await import('ora')).default({ text: `waiting for call ${ref}`, stream: process.stderr }).start();
  const line = new WaitText(ref);
  // Without a spinner a HELD call would wait in silence: say once why nothing happens.
  let heldNoted = quiet || spinner !== null;
  const onCall = (c: CallView): void => {
    line.onCall(c);
    if (spinner) spinner.text = line.text();
    if (c.status === 'HELD' && !heldNoted) {
      heldNoted = true;
      process.stderr.write(`call ${c.callNum} is HELD: waiting until it is dispatched (ferry dispatch ${c.callNum})\n`);
    }
  };
  try {
    const call = await followCall(api, ref, (e) => {
      if (e.event === 'call' || e.event === 'end') onCall(e.data);
      else {
        line.onEvent(e);
        if (spinner) spinner.text = line.text();
      }
    }).catch((err: unknown) => {
      if (!(err instanceof NoEventStream)) throw err;
      return pollCall(api, ref, onCall);
    });
    spinner?.stop();
    return call;
  } catch (err) {
    spinner?.fail();
    throw err;
  }
}
