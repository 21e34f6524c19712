import type { DbClient } from '../../../shared/clients/db-client.js';
import type { Metrics, Progress } from '../../../shared/protocol/call-outcome.js';
import type { CallPatch } from '../../../shared/protocol/db-messages.js';
import type { Call, CallStatus } from '../../../shared/protocol/domain.js';
import { applyExecutionPatch, type ExecutionPatch } from '../../../shared/protocol/execution.js';
import type { CallEvents } from './call-events.js';
import { isFinal } from './transitions.js';

/** A call this process is carrying: its current execution and what is known of it in memory. */
export interface LiveCall {
  callId: string;
  /** The current execution. */
  attempt: number;
  /** Where the current execution was sent; null while it waits in the queue. */
  nodeId: string | null;
  dispatchedAt: number | null;
  /** The stored create (null for a call this process found stored); a sync call runs while it is being written. */
  created: Promise<Call | null>;
  /**
   * Sends the create now when it is being held back (a sync call, see `CallLifecycle.create`):
   * anything that must wait for the stored call calls it first.
   */
  release?: () => void;
  /** When its node started it, while its create is held (see `CallLifecycle.create`). */
  startedAt?: number;
  /** The call as of the last write answered, once the create is stored. */
  stored: Call | null;
  /** Writes about the call sent and not yet answered. */
  writing: number;
  progress?: Progress;
  metrics?: Metrics;
}

export type ExecutionEnd = Omit<ExecutionPatch, 'attempt'>;

/**
 * The calls this process carries, and the one place a call's record changes ({@link write}).
 * `onMoved` hears every change of status (with whether it was an end), `onForgotten` every call
 * let go, so what watches live calls (stuck limits, coalesced progress) can let go too.
 */
export class LiveCalls {
  private readonly map = new Map<string, LiveCall>();

  constructor(
    private readonly db: DbClient,
    private readonly events: CallEvents,
    private readonly onMoved: (callId: string, final: boolean) => void,
    private readonly onForgotten: (callId: string) => void,
  ) {}

  get(callId: string): LiveCall | undefined {
    return this.map.get(callId);
  }

  add(live: LiveCall): void {
    this.map.set(live.callId, live);
  }

  /** A live entry for a stored call (or, from a report alone, one the store's compare-and-set fences). */
  carried(call: Call | { id: string; attempt: number; workerId: string | null }): LiveCall {
    const full = 'status' in call ? call : null;
    return { callId: call.id, attempt: call.attempt, nodeId: call.workerId, dispatchedAt: null, created: Promise.resolve(full), stored: full, writing: 0 };
  }

  forget(live: LiveCall): void {
    if (this.map.get(live.callId) === live) this.map.delete(live.callId);
    this.onForgotten(live.callId);
  }

  /**
   * Tells listeners of a move whose write waits (a start held for the call's end): the call as
   * that write will store it. The write then goes with `told`, so the move is told once.
   */
  tellAhead(live: LiveCall, to: CallStatus, set: CallPatch, execution: ExecutionEnd): void {
    if (!live.stored) return;
    const call = predicted(live.stored, { ...set, status: to }, executionPatch(live, execution, live.attempt), Date.now());
    this.events.emit(live.callId, { type: 'status', call, from: live.stored.status });
  }

  /**
   * Writes a change of the call. `to` null changes no status. The write's compare-and-set is the
   * state machine's move: the call must be in one of `from` (checked by the caller with `move`),
   * at `attempt`. A final status is told to listeners as the write goes out (the store answers
   * any later read after it), other changes once stored.
   */
  async write(
    live: LiveCall,
    to: CallStatus | null,
    set: CallPatch,
    execution: ExecutionEnd | undefined,
    from: readonly CallStatus[],
    attempt = live.attempt,
    /** Listeners were told of this move already ({@link tellAhead}). */
    told = false,
  ): Promise<Call> {
    const now = Date.now();
    const patch = executionPatch(live, execution, attempt);
    const full: CallPatch = { ...set, ...(to !== null ? { status: to } : {}) };
    const request = this.db.call('updateCall', {
      id: live.callId,
      expect: { status: [...from], attempt },
      set: full,
      ...(patch ? { execution: patch } : {}),
    });
    live.writing += 1;
    const final = to !== null && isFinal(to);
    if (to !== null) this.onMoved(live.callId, final);
    // An end is told now when this process knows the whole stored call (no other write pending).
    const early = final && live.stored && live.writing === 1 ? predicted(live.stored, full, patch, now) : null;
    if (early) this.forget(live);
    if (early) this.events.emit(live.callId, { type: 'status', call: early, from: live.stored!.status });
    try {
      const call = await request;
      const from = live.stored?.status ?? null;
      live.stored = call;
      if (call.attempt !== attempt) {
        live.attempt = call.attempt;
        live.nodeId = null;
        live.dispatchedAt = null;
        delete live.progress;
        delete live.metrics;
      }
      if (final) this.forget(live);
      else if (!this.map.has(live.callId) && call.status !== 'HELD') this.map.set(live.callId, live);
      if (!early && to !== null && !told) this.events.emit(call.id, { type: 'status', call, from });
      return call;
    } finally {
      live.writing -= 1;
    }
  }
}

/** False when the call's create failed: it was never accepted, so there is nothing to update. */
export function stored(live: LiveCall): Promise<boolean> {
  live.release?.();
  return live.created.then(
    (call) => {
      live.stored ??= call;
      return true;
    },
    () => false,
  );
}

/** The call as the store will hold it once this write is applied. */
function executionPatch(live: LiveCall, execution: ExecutionEnd | undefined, attempt: number): ExecutionPatch | undefined {
  return execution && { attempt, ...(live.dispatchedAt !== null ? { createdAt: live.dispatchedAt } : {}), ...execution };
}

function predicted(call: Call, set: CallPatch, execution: ExecutionPatch | undefined, now: number): Call {
  const next = { ...call, ...set } as Call;
  if (execution) next.executions = applyExecutionPatch(call.id, call.executions ?? [], execution, now);
  return next;
}

/** The call as its create alone would have stored it, for a call stored with its end (see `CallLifecycle.create`). */
export function asCreated(call: Call): Call {
  const { timings: _, ...rest } = call;
  return { ...rest, status: 'PENDING', result: '', error: null, logs: null, workerId: null, progress: null, metrics: null, startedAt: null, finishedAt: null, executions: [] };
}
