import { Counter, Gauge, type Registry } from 'prom-client';
import { daemonRegistry } from '../../shared/metrics/daemon-registry.js';
import type { WarmContainer, WorkerToApi } from '../../shared/protocol/worker-messages.js';

/** What the worker's metrics read of its broker when scraped. */
export interface BrokerGauges {
  readonly running: number;
  warmContainers(): WarmContainer[];
}

/**
 * One worker's metrics: its containers (read from the broker when scraped), the ends of the calls
 * it reports to the api, and the bundle bytes it pulled from the registry.
 */
export class WorkerMetrics {
  readonly registry: Registry;
  /** Counts bundle bytes as they arrive from the registry; the bundle cache calls it. */
  readonly pulled: (bytes: number) => void;
  private readonly finished: Counter<'status'>;
  private readonly failed: Counter<'code'>;
  private broker: BrokerGauges | null = null;

  constructor(maxContainers: number) {
    this.registry = daemonRegistry(null);
    const registers = [this.registry];
    const broker = (): BrokerGauges | null => this.broker;
    new Gauge({
      name: 'ferry_worker_containers_warm',
      help: 'Containers (or sandboxes) kept warm on this node, busy or idle.',
      labelNames: ['busy'] as const,
      registers,
      collect() {
        const warm = broker()?.warmContainers() ?? [];
        const busy = warm.filter((w) => w.busy).length;
        this.set({ busy: 'true' }, busy);
        this.set({ busy: 'false' }, warm.length - busy);
      },
    });
    new Gauge({
      name: 'ferry_worker_calls_running',
      help: 'Calls running on this node now.',
      registers,
      collect() {
        this.set(broker()?.running ?? 0);
      },
    });
    new Gauge({ name: 'ferry_worker_containers_max', help: 'Most containers (and so concurrent calls) this node runs: FERRY_MAX_CONTAINERS.', registers }).set(maxContainers);
    this.finished = new Counter({ name: 'ferry_worker_calls_finished_total', help: 'Calls this node ran to an end, by how they ended.', labelNames: ['status'] as const, registers });
    this.failed = new Counter({ name: 'ferry_worker_calls_failed_total', help: 'Calls this node could not run, by the reason code it gave.', labelNames: ['code'] as const, registers });
    const bytesIn = new Counter({ name: 'ferry_bundle_bytes_in_total', help: 'Bundle bytes pulled from the registry.', registers });
    this.pulled = (bytes) => bytesIn.inc(bytes);
  }

  /** Shows the broker's containers and calls from now on. */
  watch(broker: BrokerGauges): void {
    this.broker = broker;
  }

  /** Counts what a report to the api says of a call's end. */
  reported(msg: WorkerToApi): void {
    if (msg.msgType === 'finished') this.finished.inc({ status: msg.content.outcome.status });
    else if (msg.msgType === 'failed') this.failed.inc({ code: msg.content.code });
  }
}
