import type { DriverKind, NodeCapacity, WarmContainer } from './worker-messages.js';

/** What /v1/nodes shows of a worker node. */
export interface NodeView {
  nodeId: string;
  driver: DriverKind;
  capacity: NodeCapacity;
  running: number;
  warm: WarmContainer[];
  images: string[];
  lastHeartbeatAgoMs: number;
  connectedAt: number;
}
