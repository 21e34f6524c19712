import type { Command } from 'commander';
import type { CallView } from '../../../packages/client/src/index.js';
import type { ApiClient } from '../api-client.js';
import { client, globals } from '../context.js';

type ActionName = 'dispatch' | 'retry' | 'cancel';

interface Action {
  /** How the line after it reads: `dispatched call 12 (…): PENDING`. */
  done: string;
  examples: string[];
  run: (api: ApiClient, ref: string) => Promise<CallView>;
}

// One route each, `POST /v1/calls/:ref/<name>`, answering the call as it now stands; a call in a
// status the action does not apply to is a 409 CONFLICT, printed as such with exit 1.
const ACTIONS: Record<ActionName, Action> = {
  dispatch: {
    done: 'dispatched',
    examples: ['ferry dispatch 12', 'id=$(ferry invoke dice --hold) && ferry dispatch "$id" && ferry wait "$id"'],
    run: (api, ref) => api.dispatchCall(ref),
  },
  retry: {
    done: 'retried',
    examples: ['ferry retry 12', 'ferry retry 12 && ferry wait 12', 'ferry dead-letters --fn dice --retry   # every dead letter of dice'],
    run: (api, ref) => api.retryCall(ref),
  },
  cancel: {
    done: 'cancelled',
    examples: ['ferry cancel 12', 'ferry cancel V1StGXR8_Z5jdHi6B-myT --json'],
    run: (api, ref) => api.cancelCall(ref),
  },
};

/** `ferry dispatch|retry|cancel <ref>`: prints `<done> call 12 (<id>): <STATUS>`, or the call as JSON. */
export function callAction(name: ActionName): (cmd: Command) => void {
  const a = ACTIONS[name];
  return (cmd) => {
    cmd.addHelpText('after', `\nExamples:\n${a.examples.map((e) => `  ${e}`).join('\n')}`).action(async (ref: string) => {
      const call = await a.run(client(cmd), ref);
      process.stdout.write(globals(cmd).json ? JSON.stringify(call, null, 2) + '\n' : `${a.done} call ${call.callNum} (${call.id}): ${call.status}\n`);
    });
  };
}
