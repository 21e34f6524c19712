import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { daemonRegistry } from '../../shared/metrics/daemon-registry.js';
import type { Call, CallStatus } from '../../shared/protocol/domain.js';
import type { Refusals } from '../../shared/refusals.js';
import type { CallEvent } from './calls/call-events.js';
import { isFinal } from './calls/transitions.js';
import type { Scheduler } from './scheduler.js';

/** Seconds a call's phase may take: from a warm container's few ms to a function's long run. */
const PHASE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/**
 * The api's metrics. Call counts and phase times come from the call lifecycle's events (one
 * listener of every call: a counter bump or a histogram observation per event, labelled by
 * function and status, never by call); the queue, nodes and warm containers are read from the
 * scheduler when scraped.
 */
export class ApiMetrics {
  readonly registry: Registry;
  private readonly created: Counter<'function'>;
  private readonly ended: Counter<'function' | 'status'>;
  private readonly requeued: Counter<'reason'>;
  private readonly queuedSeconds: Histogram<'function'>;
  private readonly initSeconds: Histogram<'function'>;
  private readonly runSeconds: Histogram<'function'>;
  private readonly bundleBytesIn: Counter;

  constructor(scheduler: Scheduler, refusals: Refusals) {
    this.registry = daemonRegistry(refusals);
    const registers = [this.registry];
    const fn = ['function'] as const;
    // Not counted at RUNNING: a call that ends within a few ms is never reported running on its own.
    this.created = new Counter({ name: 'ferry_calls_created_total', help: 'Calls accepted and stored (held ones included; idempotent replays not).', labelNames: fn, registers });
    this.ended = new Counter({ name: 'ferry_calls_ended_total', help: 'Calls that ended, by final status.', labelNames: ['function', 'status'] as const, registers });
    this.requeued = new Counter({
      name: 'ferry_executions_requeued_total',
      help: 'Executions given up for another of the same call, by why: LOST, FAILED, STUCK (the infrastructure), ERROR or TIMEOUT (a retry policy), request (an ended call retried).',
      labelNames: ['reason'] as const,
      registers,
    });
    const phase = (name: string, help: string): Histogram<'function'> => new Histogram({ name, help, labelNames: fn, buckets: PHASE_BUCKETS, registers });
    this.queuedSeconds = phase('ferry_call_queued_seconds', "Time an ended call's last execution waited on its node for a container.");
    this.initSeconds = phase('ferry_call_init_seconds', "Time an ended call's last execution took to get ready: container, code, dependencies.");
    this.runSeconds = phase('ferry_call_run_seconds', "Time an ended call's function itself ran, in its last execution.");
    this.bundleBytesIn = new Counter({ name: 'ferry_bundle_bytes_in_total', help: 'Bundle bytes of pushes the registry stored (streamed on to it as they arrived).', registers });
    gauge(registers, 'ferry_queue_calls', 'Calls waiting in the api for a node with room.', () => scheduler.queued);
    gauge(registers, 'ferry_delayed_calls', 'Calls waiting out a retry back-off before they queue again.', () => scheduler.backingOff);
    gauge(registers, 'ferry_running_calls', 'Calls sent to a node whose end the api has not heard.', () => scheduler.running);
    gauge(registers, 'ferry_nodes_up', 'Worker nodes connected and heard from in time.', () => scheduler.nodes.list().length);
    new Gauge({
      name: 'ferry_node_containers_warm',
      help: "Warm containers on each node, as of the node's last heartbeat.",
      labelNames: ['node'] as const,
      registers,
      collect() {
        // A node that left must leave the exposition too.
        this.reset();
        for (const node of scheduler.nodes.list()) this.set({ node: node.nodeId }, node.warm.length);
      },
    });
    scheduler.calls.events.subscribeAll((event) => this.onCallEvent(event));
  }

  /** Counts the bytes of a pushed bundle once the registry stored it. */
  bundlePushed(bytes: number): void {
    this.bundleBytesIn.inc(bytes);
  }

  private onCallEvent(event: CallEvent): void {
    if (event.type !== 'status') return;
    const { call, from } = event;
    const labels = { function: call.funcName };
    if (from === null) this.created.inc(labels);
    else if (isFinal(call.status)) this.end(call, labels);
    else if (call.status === 'PENDING' && from !== 'HELD') this.requeued.inc({ reason: requeueReason(call, from) });
  }

  private end(call: Call, labels: { function: string }): void {
    this.ended.inc({ function: call.funcName, status: call.status });
    const timings = call.timings;
    // Only the ends a node's outcome makes carry this execution's timings.
    if (!timings || !(call.status === 'DONE' || call.status === 'ERROR' || call.status === 'TIMEOUT')) return;
    if (timings.queuedMs !== undefined) this.queuedSeconds.observe(labels, timings.queuedMs / 1000);
    this.initSeconds.observe(labels, timings.initMs / 1000);
    this.runSeconds.observe(labels, timings.runMs / 1000);
  }
}

/** Why a call went back to PENDING: how its execution before ended, or `request` for an ended call retried. */
function requeueReason(call: Call, from: CallStatus): string {
  if (isFinal(from)) return 'request';
  return call.executions?.find((e) => e.attempt === call.attempt - 1)?.state ?? 'LOST';
}

function gauge(registers: Registry[], name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}
