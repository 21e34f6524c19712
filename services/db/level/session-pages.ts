import { NotFoundError } from '../../../shared/errors.js';
import type { Call } from '../../../shared/protocol/domain.js';
import type { GroupResultPageReply } from '../../../shared/protocol/db-messages.js';
import type { GroupResultPage } from '../../../shared/protocol/group.js';
import { withDefaults } from '../call-rules.js';
import type { Groups } from './groups.js';
import { keys } from './keys.js';
import type { Store } from './store.js';

/**
 * A session's result pages (FOQUS's `post-session-result`, without its clock). A page is a range
 * of the group's finish sequences, which the DB hands out in the same write as each call's end;
 * pages follow each other with no gap and no overlap whatever the nodes' clocks say.
 */
export class SessionPages {
  constructor(
    private readonly store: Store,
    private readonly groups: Groups,
  ) {}

  /**
   * Makes the next page of group `id`: every call whose finish sequence is above the last page's
   * `to`, up to the group's current sequence. Answers `null` (and stores nothing) when no call
   * ended since the last page. Throws NOT_FOUND for an unknown group.
   */
  next(id: string): Promise<GroupResultPageReply | null> {
    // One page at a time per group: two concurrent requests never read the same `from`.
    return this.store.lock.run(keys.groupPagePrefix(id), async () => {
      const group = this.groups.get(id);
      const [lastKey] = await this.store.keysUnder(keys.groupPagePrefix(id), { reverse: true, limit: 1 });
      const last = lastKey === undefined ? undefined : await this.store.get<GroupResultPage>(lastKey);
      const from = last?.to ?? 0;
      const to = group.finishSeq ?? 0;
      if (to <= from) return null;
      // A barrier, not data: the queue lands batches in order, so once this empty one is on disk
      // every end stamped up to `to` (given out before this point) is on disk with its index entry.
      await this.store.write([]);
      const entries = (await this.store.db
        .iterator({ gt: keys.byGroupFinish(id, from), lte: keys.byGroupFinish(id, to) })
        .all()) as [string, string][];
      const page: GroupResultPage = { groupId: id, page: (last?.page ?? 0) + 1, from, to, callIds: entries.map(([, callId]) => callId), createdAt: Date.now() };
      await this.store.write([{ type: 'put', key: keys.groupPage(id, page.page), value: page }]);
      return this.reply(page);
    });
  }

  /** Page `page` of group `id` as it was made: the same calls in the same order every time. */
  async get(id: string, page: number): Promise<GroupResultPageReply> {
    const stored = await this.store.get<GroupResultPage>(keys.groupPage(id, page));
    if (!stored) throw new NotFoundError(`result page ${page} of "${id}"`);
    return this.reply(stored);
  }

  private async reply(page: GroupResultPage): Promise<GroupResultPageReply> {
    const { callIds, ...rest } = page;
    // A call retention removed since is left out; every other call of the page is answered.
    const found = (await this.store.db.getMany(callIds.map((callId) => keys.call(callId)))) as (Call | undefined)[];
    return { ...rest, calls: found.filter((c): c is Call => c !== undefined).map(withDefaults) };
  }
}
