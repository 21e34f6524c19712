import { Dealer } from 'zeromq';
import type { SandboxLimits } from '../../../shared/config.js';
import { rootLogger, setLoggerName } from '../../../shared/logger.js';
import { decodeEvent, encodeEvent } from '../../../shared/protocol/envelope.js';
import type { DriverKind } from '../../../shared/protocol/worker-messages.js';
import { Outbox } from '../../../shared/transport/outbox.js';
import { unbatchOrLog } from '../../../shared/transport/unbatch-or-log.js';
import { brokerToMiniworkerSchemas } from '../broker-messages.js';
import { createDriver, type DriverSettings } from '../drivers/create-driver.js';
import { SandboxSlot } from './sandbox-slot.js';

/**
 * A miniworker process: hosts a few sandbox slots (FERRY_SANDBOXES_PER_MINIWORKER), each holding
 * at most one sandbox (container) and running one call at a time in it, so a slow container start
 * or a hung function never blocks the node's daemon, and a crash here ends only these slots'
 * calls. Configured by its broker through env (FERRY_MINIWORKER_*).
 */
setLoggerName('miniworker');
const env = process.env;
const id = env['FERRY_MINIWORKER_ID'] ?? 'mw';
const log = rootLogger().child({ miniworker: id });
const settings = JSON.parse(env['FERRY_MINIWORKER_SETTINGS'] ?? '{}') as DriverSettings & {
  driver: DriverKind;
  slots: number;
  socketDir: string;
  outputCapBytes: number;
  sandbox: SandboxLimits;
  preload: 'none' | 'runtime' | 'function';
  keepAliveMs: number;
};

const sock = new Dealer({ routingId: id, linger: 1000 });
sock.connect(env['FERRY_BROKER_ADDR'] ?? '');
const outbox = new Outbox((frames) => sock.send(frames));

const driver = await createDriver(settings.driver, settings, log);
const host = {
  ...settings,
  id,
  driver,
  log,
  send: (msgType: string, content: Record<string, unknown>): void => {
    outbox.send(encodeEvent(msgType, content)).catch((err: unknown) => log.error({ err }, 'send to broker failed'));
  },
};
const slots = Array.from({ length: settings.slots }, (_, i) => new SandboxSlot(host, i));

async function stop(): Promise<void> {
  await Promise.all(slots.map((s) => s.stop()));
  sock.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
// A worker daemon killed outright cannot stop its miniworkers: they notice they were orphaned
// and clean up their containers themselves.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    log.warn({ parent }, 'worker daemon gone, stopping');
    void stop();
  }
}, 1_000).unref();
process.on('SIGINT', () => undefined); // the broker stops us; Ctrl-C on the group must not

for (const s of slots) s.sayReady();
for await (const batch of sock) {
  for (const frames of unbatchOrLog(batch, log)) onBrokerMessage(frames);
}

/** Hands a message to its slot; nothing here waits, so one slot's work never holds up another's messages. */
function onBrokerMessage(frames: Buffer[]): void {
  try {
    const msg = decodeEvent(frames, brokerToMiniworkerSchemas);
    const slot = slots[msg.content.slot];
    if (!slot) throw new Error(`no slot ${msg.content.slot}`);
    switch (msg.msgType) {
      case 'task':
        slot.take(msg.content.task, msg.content.prepared);
        return;
      case 'warm':
        void slot.warmRuntime(msg.content.runtime);
        return;
      case 'cancel':
        slot.cancel(msg.content.callId, msg.content.attempt).catch((err: unknown) => log.warn({ err, slot: slot.index }, 'cancel failed'));
        return;
    }
  } catch (err) {
    log.warn({ err }, 'bad message from broker dropped');
  }
}
