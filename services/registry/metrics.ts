import { Counter, type Registry } from 'prom-client';
import { daemonRegistry } from '../../shared/metrics/daemon-registry.js';
import type { Refusals } from '../../shared/refusals.js';

/** The registry's metrics: bundle bytes it took in (pushes through the api) and sent out (to workers). */
export class RegistryMetrics {
  readonly registry: Registry;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;

  constructor(refusals: Refusals) {
    this.registry = daemonRegistry(refusals);
    const registers = [this.registry];
    this.bytesIn = new Counter({ name: 'ferry_bundle_bytes_in_total', help: 'Bundle bytes received: whole bundles and upload parts, stored or not.', registers });
    this.bytesOut = new Counter({ name: 'ferry_bundle_bytes_out_total', help: 'Bundle bytes sent: whole bundles and parts read by workers.', registers });
  }

  received(chunks: readonly Buffer[]): void {
    this.bytesIn.inc(byteLength(chunks));
  }

  sent(chunks: readonly Buffer[]): void {
    this.bytesOut.inc(byteLength(chunks));
  }
}

const byteLength = (chunks: readonly Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);
