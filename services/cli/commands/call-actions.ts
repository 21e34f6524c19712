import type { Command } from 'commander';
import type { Call } from '../../../shared/protocol/domain.js';
import { callPath } from '../call-view.js';
import { client, globals } from '../context.js';

interface Action {
  name: 'dispatch' | 'retry' | 'cancel';
  /** How the line after it reads: `dispatched call 12 (…): PENDING`. */
  done: string;
  description: string;
  examples: string[];
}

// One route each, `POST /v1/calls/:ref/<name>`, answering the call as it now stands; a call in a
// status the action does not apply to is a 409 CONFLICT, printed as such with exit 1.
const ACTIONS: Action[] = [
  {
    name: 'dispatch',
    done: 'dispatched',
    description: 'run a HELD call (one invoked with --hold): it goes PENDING, then runs; exit 1 if it is not HELD',
    examples: ['ferry dispatch 12', 'id=$(ferry invoke dice --hold) && ferry dispatch "$id" && ferry wait "$id"'],
  },
  {
    name: 'retry',
    done: 'retried',
    description: 'run a call that ended failed again: it goes PENDING and a new execution runs; exit 1 if it is DONE or has not ended',
    examples: ['ferry retry 12', 'ferry retry 12 && ferry wait 12', 'ferry dead-letters --fn dice --retry   # every dead letter of dice'],
  },
  {
    name: 'cancel',
    done: 'cancelled',
    description: 'stop a call: a HELD or PENDING one ends CANCELLED, a RUNNING one KILLED (its container is stopped); exit 1 if it has ended',
    examples: ['ferry cancel 12', 'ferry cancel V1StGXR8_Z5jdHi6B-myT --json'],
  },
];

/** `ferry dispatch|retry|cancel <ref>`: prints `<done> call 12 (<id>): <STATUS>`, or the call as JSON. */
export function registerCallActions(program: Command): void {
  for (const a of ACTIONS) {
    program
      .command(a.name)
      .argument('<ref>', 'the call: its id, or its callNum')
      .description(a.description)
      .addHelpText('after', `\nExamples:\n${a.examples.map((e) => `  ${e}`).join('\n')}`)
      .action(async (ref: string, _o: unknown, cmd: Command) => {
        const call = await client(cmd).post<Call>(`${callPath(ref)}/${a.name}`);
        process.stdout.write(globals(cmd).json ? JSON.stringify(call, null, 2) + '\n' : `${a.done} call ${call.callNum} (${call.id}): ${call.status}\n`);
      });
  }
}
