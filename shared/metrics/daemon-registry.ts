import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Refusals } from '../refusals.js';
import { zapRefusals } from '../security/zap-handler.js';

/**
 * One daemon's metrics registry, with what every daemon shows: Node's own process metrics under
 * their usual names (`process_*`, `nodejs_*`), the inputs it refused by error code, and the
 * ZeroMQ handshakes it refused. The counts are read from where they are kept when scraped, so
 * counting them costs nothing more between scrapes.
 */
export function daemonRegistry(refusals: Refusals | null): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Counter({
    name: 'ferry_refused_inputs_total',
    help: 'Requests and messages this daemon refused because the sender was at fault, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
    collect() {
      if (!refusals) return;
      this.reset();
      for (const [code, n] of Object.entries(refusals.snapshot())) this.inc({ code }, n);
    },
  });
  new Counter({
    name: 'ferry_zmq_handshakes_refused_total',
    help: 'CurveZMQ handshakes this daemon refused (a client key not allowed, or not a CURVE client).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(zapRefusals());
    },
  });
  return registry;
}
