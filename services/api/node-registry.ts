import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_LIVENESS,
  type DriverKind,
  type NodeCapacity,
  type WarmContainer,
  type WorkerToApiContent,
} from '../../shared/protocol/worker-messages.js';
import type { NodeView } from '../../shared/protocol/node-view.js';

export interface NodeState {
  nodeId: string;
  /** The node's worker process, new at each of its starts. */
  incarnation: string;
  driver: DriverKind;
  capacity: NodeCapacity;
  images: string[];
  /** Warm containers as of the node's last heartbeat. */
  warm: WarmContainer[];
  /** Calls the api has sent there and not yet seen end: its load as the scheduler counts it. */
  assigned: Set<string>;
  lastSeen: number;
  connectedAt: number;
}

/**
 * The worker nodes the api knows: added by hello, kept alive by any message, gone after
 * HEARTBEAT_LIVENESS silent intervals (Paranoid Pirate).
 */
export class NodeRegistry {
  private readonly nodes = new Map<string, NodeState>();

  /**
   * @param intervalMs heartbeat interval
   * @param dispatchAhead calls per container a node may hold beyond those it runs
   */
  constructor(
    private readonly intervalMs = HEARTBEAT_INTERVAL_MS,
    private readonly dispatchAhead = 0,
  ) {}

  hello(nodeId: string, content: WorkerToApiContent<'hello'>): NodeState {
    const known = this.nodes.get(nodeId);
    const node: NodeState = {
      nodeId,
      incarnation: content.incarnation,
      driver: content.driver,
      capacity: content.capacity,
      images: content.images,
      warm: content.warm,
      assigned: known?.assigned ?? new Set(),
      lastSeen: Date.now(),
      connectedAt: known?.connectedAt ?? Date.now(),
    };
    this.nodes.set(nodeId, node);
    return node;
  }

  /** Marks the node alive; false when the node is unknown (it must say hello). */
  touch(nodeId: string): boolean {
    const node = this.nodes.get(nodeId);
    if (!node) return false;
    node.lastSeen = Date.now();
    return true;
  }

  heartbeat(nodeId: string, content: WorkerToApiContent<'heartbeat'>): void {
    const node = this.nodes.get(nodeId);
    if (node) node.warm = content.warm;
  }

  get(nodeId: string): NodeState | undefined {
    return this.nodes.get(nodeId);
  }

  list(): NodeState[] {
    return [...this.nodes.values()];
  }

  /** Forgets a node; false when it was not known. */
  remove(nodeId: string): boolean {
    return this.nodes.delete(nodeId);
  }

  /** Removes and returns the nodes silent for too long. */
  expire(now = Date.now()): NodeState[] {
    const dead: NodeState[] = [];
    for (const node of this.nodes.values()) {
      if (now - node.lastSeen > this.intervalMs * HEARTBEAT_LIVENESS) dead.push(node);
    }
    for (const node of dead) this.nodes.delete(node.nodeId);
    return dead;
  }

  /**
   * Where a call of `fn` (`name@version`) should go: a node with an idle warm container for it
   * and room, else the least-loaded node with room, else none. A node's room is its containers
   * plus `dispatchAhead` waiting calls per container; a node with free containers is less loaded
   * than one whose calls would wait.
   */
  place(fn: string): NodeState | undefined {
    let best: NodeState | undefined;
    let bestLoad = Infinity;
    for (const node of this.nodes.values()) {
      const free = node.capacity.maxContainers * (1 + this.dispatchAhead) - node.assigned.size;
      if (free <= 0) continue;
      const warmIdle = node.warm.filter((w) => w.fn === fn && !w.busy).length;
      // Warm containers count as negative load, so a warm node wins until it is busy.
      const load = node.assigned.size / node.capacity.maxContainers - (warmIdle > node.assigned.size ? 1 : 0);
      if (load < bestLoad) {
        best = node;
        bestLoad = load;
      }
    }
    return best;
  }

  view(node: NodeState): NodeView {
    return {
      nodeId: node.nodeId,
      driver: node.driver,
      capacity: node.capacity,
      running: node.assigned.size,
      warm: node.warm,
      images: node.images,
      lastHeartbeatAgoMs: Date.now() - node.lastSeen,
      connectedAt: node.connectedAt,
    };
  }
}
