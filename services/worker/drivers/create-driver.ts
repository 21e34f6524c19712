import type { DelayRangeMs } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { DriverKind } from '../../../shared/protocol/worker-messages.js';
import { DockerDriver } from './docker-driver.js';
import type { Driver } from './driver.js';
import { FakeDriver } from './fake-driver.js';
import { ProcessDriver } from './process-driver.js';

/** What a driver is made from: once in the worker daemon, again in each miniworker. */
export interface DriverSettings {
  nodeId: string;
  /** The node-local folder. */
  dir: string;
  /** Fake driver only: each call's delay. */
  fakeDelay: DelayRangeMs;
}

/** The driver of a kind the daemon has already chosen (see {@link chooseDriver}). */
export async function createDriver(kind: DriverKind, settings: DriverSettings, log: Logger): Promise<Driver> {
  switch (kind) {
    case 'docker': {
      const docker = await DockerDriver.detect(settings.nodeId, log);
      if (!docker) throw new Error('the Docker engine does not answer');
      return docker;
    }
    case 'process':
      return new ProcessDriver(settings.nodeId, settings.dir, log);
    case 'fake':
      return new FakeDriver(settings.fakeDelay);
  }
}

/** Docker when an engine answers (or is asked for), else the process driver; fake only when asked for. */
export async function chooseDriver(wanted: 'auto' | DriverKind, settings: DriverSettings, log: Logger): Promise<Driver> {
  if (wanted === 'process' || wanted === 'fake') return createDriver(wanted, settings, log);
  const docker = await DockerDriver.detect(settings.nodeId, log);
  if (docker) return docker;
  if (wanted === 'docker') throw new Error('FERRY_DRIVER=docker but the Docker engine does not answer');
  return createDriver('process', settings, log);
}
