import { NotFoundError } from '../../../shared/errors.js';
import type { DbParsedContent } from '../../../shared/protocol/db-messages.js';
import type { Call } from '../../../shared/protocol/domain.js';
import type { Group, GroupPage } from '../../../shared/protocol/group.js';
import { followGroup, newGroup } from '../group-rules.js';
import { keys, padTime } from './keys.js';
import type { Store } from './store.js';
import type { BatchOp } from './write-queue.js';

/**
 * The group store. A group's counts and times are not written by anyone who asks: they move in
 * the same batch as each status change of one of its calls ({@link Groups.followCall}), so they
 * are right after any restart and a group is read without a scan of its calls.
 */
export class Groups {
  /**
   * Every group touched since start, written through. A call's write changes its group from here
   * synchronously, between reading the call and queueing the batch, so two calls of one group
   * that change at once never both start from the same old counts.
   */
  private readonly cache = new Map<string, Group>();
  /** The last creation time given: each group's is later, so the list order is creation order. */
  private lastCreatedAt = 0;

  constructor(private readonly store: Store) {}

  /** Synchronous on purpose (see `cache`): a LevelDB point read from the memtable or block cache. */
  private load(id: string): Group | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const stored = this.store.db.getSync(keys.group(id)) as Group | undefined;
    if (stored) this.cache.set(id, stored);
    return stored;
  }

  private putOps(group: Group): BatchOp[] {
    // A copy: later changes to the cached group must not reach a batch not yet written.
    return [{ type: 'put', key: keys.group(group.id), value: { ...group, counts: { ...group.counts } } }];
  }

  /** Makes a group with no calls yet; an id that exists answers that group unchanged. */
  create(spec: DbParsedContent['createGroup']): Promise<Group> {
    return this.store.lock.run(keys.group(spec.id), async () => {
      const existing = this.load(spec.id);
      if (existing) return existing;
      // Groups made in the same millisecond still list in the order they were made (keyed by it).
      const group = newGroup(spec, (this.lastCreatedAt = Math.max(Date.now(), this.lastCreatedAt + 1)));
      this.cache.set(group.id, group);
      await this.store.write([
        ...this.putOps(group),
        { type: 'put', key: keys.groupByTime(group.createdAt, group.id), value: group.id },
        { type: 'put', key: keys.groupByKind(group.kind, group.createdAt, group.id), value: group.id },
        { type: 'put', key: keys.groupBeingMade(group.id), value: group.id },
      ]);
      return group;
    });
  }

  /** Throws NOT_FOUND when there is no group `id`. */
  get(id: string): Group {
    const group = this.load(id);
    if (!group) throw new NotFoundError(`group "${id}"`);
    return group;
  }

  /** Sets `cancelledAt` the first time; answers the group. */
  async cancel(id: string): Promise<Group> {
    const group = this.get(id);
    if (group.cancelledAt !== null) return group;
    group.cancelledAt = Date.now();
    await this.store.write(this.putOps(group));
    return group;
  }

  /** Sets `startedAt` the first time (a session started); answers the group. */
  async markStarted(id: string): Promise<Group> {
    const group = this.get(id);
    if (group.startedAt != null) return group;
    group.startedAt = Date.now();
    await this.store.write(this.putOps(group));
    return group;
  }

  /** Its calls are all made (or its making was given up): it leaves the groups being made. */
  async made(id: string): Promise<Group> {
    const group = this.get(id);
    await this.store.write([{ type: 'del', key: keys.groupBeingMade(id) }]);
    return group;
  }

  /** Groups whose making was never marked done: few (an api died while making them). */
  async beingMade(): Promise<Group[]> {
    const ids = await this.store.values<string>(keys.groupBeingMadePrefix);
    return ids.map((id) => this.load(id)).filter((g): g is Group => g !== undefined);
  }

  /** Newest first; the cursor is the creation time and id of the last group of a page. */
  async list(query: DbParsedContent['listGroups']): Promise<GroupPage> {
    const prefix = query.kind === undefined ? keys.groupByTimePrefix : keys.groupByKindPrefix(query.kind);
    const slice = await this.store.keysUnder(prefix, {
      reverse: true,
      limit: query.limit + 1,
      ...(query.cursor === undefined ? {} : { lt: prefix + query.cursor }),
    });
    const groups: Group[] = [];
    for (const key of slice.slice(0, query.limit)) {
      const group = this.load(key.slice(key.lastIndexOf('!') + 1));
      if (group) groups.push(group);
    }
    const last = groups[groups.length - 1];
    return { groups, nextCursor: slice.length > query.limit && last ? `${padTime(last.createdAt)}!${last.id}` : null };
  }

  /**
   * The ops that keep the group of `after` right as the call goes from `before` (null: a new
   * call) to `after`: its counts, the first start and the last end. Throws NOT_FOUND when a new
   * call names a group that does not exist. Changes the cached group at once (see `cache`), and
   * stamps `after.finishSeq` (the group's next number) when the call enters a final status.
   */
  followCall(before: Call | null, after: Call): BatchOp[] {
    const id = after.groupId;
    if (id === undefined || id === null) return [];
    if (before !== null && before.status === after.status) return [];
    const group = this.get(id);
    followGroup(group, before, after);
    return this.putOps(group);
  }
}
