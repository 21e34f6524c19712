import type { Metrics, Progress } from '../../../shared/protocol/call-outcome.js';
import type { Call, CallStatus } from '../../../shared/protocol/domain.js';

/**
 * What happens to a call, as its owner ({@link CallLifecycle}) tells it: every change of status
 * (with the call as stored, or as it is being stored for an end), and progress, metrics and log
 * lines from inside a running execution the moment they arrive.
 */
export type CallEvent =
  | { type: 'status'; call: Call; from: CallStatus | null }
  | { type: 'progress'; callId: string; attempt: number; executionId: string; progress?: Progress; metrics?: Metrics }
  | { type: 'log'; callId: string; attempt: number; executionId: string; line: string };

export type CallListener = (event: CallEvent) => void;

/** Listeners of one call (a sync caller, an event stream) and of every call (the scheduler). */
export class CallEvents {
  private readonly byCall = new Map<string, Set<CallListener>>();
  private readonly everyCall = new Set<CallListener>();

  /** Listens to one call's events; returns the way to stop. */
  subscribe(callId: string, listener: CallListener): () => void {
    const set = this.byCall.get(callId) ?? new Set<CallListener>();
    this.byCall.set(callId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byCall.get(callId) === set) this.byCall.delete(callId);
    };
  }

  subscribeAll(listener: CallListener): () => void {
    this.everyCall.add(listener);
    return () => this.everyCall.delete(listener);
  }

  emit(callId: string, event: CallEvent): void {
    for (const listener of [...this.everyCall]) listener(event);
    const set = this.byCall.get(callId);
    if (set) for (const listener of [...set]) listener(event);
  }
}
