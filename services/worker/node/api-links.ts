import type { WorkerToApi } from '../../../shared/protocol/worker-messages.js';
import { ApiLink, type ApiLinkOptions, type FinalReport } from './api-link.js';

export type ApiLinksOptions = Omit<ApiLinkOptions, 'apiAddr' | 'onLeader' | 'isCurrent' | 'finals'> & { apiAddrs: string[] };

/**
 * The node's links to every api daemon of the cluster. Each api hears its hellos and
 * heartbeats (a standby knows the node before it takes over); the one that last said it
 * schedules, with the highest lease epoch, is the current one: it alone sends calls that run and
 * hears reports. Ends not yet acked go to whichever api the node says hello to, and are resent to
 * the current one until it acks them.
 */
export class ApiLinks {
  private readonly links: ApiLink[];
  private current: ApiLink;
  private epoch = 0;

  constructor(private readonly opts: ApiLinksOptions) {
    const finals = new Map<string, { report: FinalReport; sentAt: number }>();
    this.links = opts.apiAddrs.map((apiAddr) => {
      const link: ApiLink = new ApiLink({
        ...opts,
        apiAddr,
        finals,
        log: opts.apiAddrs.length > 1 ? opts.log.child({ apiAddr }) : opts.log,
        isCurrent: () => this.current === link,
        onLeader: (epoch) => this.leader(link, epoch, apiAddr),
      });
      return link;
    });
    const first = this.links[0];
    if (!first) throw new Error('a worker needs at least one api endpoint');
    this.current = first;
  }

  start(): void {
    for (const link of this.links) link.start();
  }

  send(msg: WorkerToApi): void {
    this.current.send(msg);
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((link) => link.close()));
  }

  private leader(link: ApiLink, epoch: number, apiAddr: string): void {
    if (epoch < this.epoch) return;
    const changed = link !== this.current || epoch !== this.epoch;
    this.epoch = epoch;
    this.current = link;
    if (changed && this.links.length > 1) this.opts.log.info({ apiAddr, epoch }, 'the scheduling api is now this one');
  }
}
