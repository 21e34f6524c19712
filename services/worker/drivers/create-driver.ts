import type { Logger } from '../../../shared/logger.js';
import type { DriverKind } from '../../../shared/protocol/worker-messages.js';
import { DockerDriver } from './docker-driver.js';
import type { Driver } from './driver.js';
import { ProcessDriver } from './process-driver.js';

/** The driver of a kind the daemon has already chosen (see {@link chooseDriver}). */
export async function createDriver(kind: DriverKind, nodeId: string, dir: string, log: Logger): Promise<Driver> {
  if (kind === 'docker') {
    const docker = await DockerDriver.detect(nodeId, log);
    if (!docker) throw new Error('the Docker engine does not answer');
    return docker;
  }
  return new ProcessDriver(nodeId, dir, log);
}

/** Docker when an engine answers (or is asked for), else the process driver. */
export async function chooseDriver(wanted: 'auto' | DriverKind, nodeId: string, dir: string, log: Logger): Promise<Driver> {
  if (wanted === 'process') return createDriver('process', nodeId, dir, log);
  const docker = await DockerDriver.detect(nodeId, log);
  if (docker) return docker;
  if (wanted === 'docker') throw new Error('FERRY_DRIVER=docker but the Docker engine does not answer');
  return createDriver('process', nodeId, dir, log);
}
