import { NotFoundError } from '../../../shared/errors.js';
import type { DbParsedContent, GroupResultPageReply } from '../../../shared/protocol/db-messages.js';
import type { Call } from '../../../shared/protocol/domain.js';
import type { Group, GroupPage, GroupResultPage } from '../../../shared/protocol/group.js';
import { withDefaults } from '../call-rules.js';
import { followGroup, newGroup } from '../group-rules.js';
import { padTime } from '../level/keys.js';
import { firstOf, inTx, prepared, run, type Db, type Tx } from './pg-pool.js';


const LOAD = prepared('SELECT record FROM ferry_groups WHERE id = $1');
const LOAD_FOR_UPDATE = prepared('SELECT record FROM ferry_groups WHERE id = $1 FOR UPDATE');
const SAVE = prepared('UPDATE ferry_groups SET record = $2 WHERE id = $1');

async function loadGroup(q: Tx, id: string, lock = ''): Promise<Group | undefined> {
  return firstOf<Group>(q, 'record', lock === '' ? LOAD : LOAD_FOR_UPDATE, [id]);
}

async function saveGroup(tx: Tx, group: Group): Promise<void> {
  await run(tx, SAVE, [group.id, JSON.stringify(group)]);
}

/**
 * Moves the group of `after` with its call's change, in the call's transaction and under the
 * group row's lock: counts, times and the finish sequence are those of every change committed
 * before, whichever daemon wrote it. Throws NOT_FOUND when a new call names a group that does not exist.
 */
export async function followGroupIn(tx: Tx, before: Call | null, after: Call): Promise<void> {
  const id = after.groupId;
  if (id === undefined || id === null) return;
  if (before !== null && before.status === after.status) return;
  const group = await loadGroup(tx, id, 'FOR UPDATE');
  if (!group) throw new NotFoundError(`group "${id}"`);
  if (followGroup(group, before, after)) await saveGroup(tx, group);
}

/** Groups and their result pages in PostgreSQL (see the LevelDB store's Groups and SessionPages). */
export class PgGroups {
  /** The last creation time this daemon gave: groups made in one millisecond still list in the order they were made. */
  private lastCreatedAt = 0;

  constructor(private readonly db: Db) {}

  /** Makes a group with no calls yet; an id that exists answers that group unchanged. */
  async create(spec: DbParsedContent['createGroup']): Promise<Group> {
    const group = newGroup(spec, (this.lastCreatedAt = Math.max(Date.now(), this.lastCreatedAt + 1)));
    const { rowCount } = await this.db.query(
      'INSERT INTO ferry_groups (id, kind, created_at, being_made, record) VALUES ($1, $2, $3, true, $4) ON CONFLICT (id) DO NOTHING',
      [group.id, group.kind, group.createdAt, JSON.stringify(group)],
    );
    return rowCount === 0 ? this.get(spec.id) : group;
  }

  async get(id: string): Promise<Group> {
    const group = await loadGroup(this.db, id);
    if (!group) throw new NotFoundError(`group "${id}"`);
    return group;
  }

  /** Sets `cancelledAt` the first time; answers the group. */
  cancel(id: string): Promise<Group> {
    return this.change(id, (g) => (g.cancelledAt !== null ? false : ((g.cancelledAt = Date.now()), true)));
  }

  /** Sets `startedAt` the first time (a session started); answers the group. */
  markStarted(id: string): Promise<Group> {
    return this.change(id, (g) => (g.startedAt != null ? false : ((g.startedAt = Date.now()), true)));
  }

  /** Its calls are all made (or its making was given up): it leaves the groups being made. */
  async made(id: string): Promise<Group> {
    await this.db.query('UPDATE ferry_groups SET being_made = false WHERE id = $1', [id]);
    return this.get(id);
  }

  async beingMade(): Promise<Group[]> {
    const { rows } = await this.db.query('SELECT record FROM ferry_groups WHERE being_made ORDER BY created_at, id');
    return rows.map((row) => row.record as Group);
  }

  /** Newest first; the cursor is the creation time and id of the last group of a page (as the LevelDB store's). */
  async list(query: DbParsedContent['listGroups']): Promise<GroupPage> {
    const params: unknown[] = [];
    const p = (value: unknown): string => `$${params.push(value)}`;
    const where: string[] = [];
    if (query.kind !== undefined) where.push(`kind = ${p(query.kind)}`);
    if (query.cursor !== undefined) {
      const cut = query.cursor.indexOf('!');
      const [at, id] = cut < 0 ? [Number(query.cursor), ''] : [Number(query.cursor.slice(0, cut)), query.cursor.slice(cut + 1)];
      where.push(`(created_at, id) < (${p(Number.isFinite(at) ? at : 0)}, ${p(id)})`);
    }
    const { rows } = await this.db.query(
      `SELECT record FROM ferry_groups ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${p(query.limit + 1)}`,
      params,
    );
    const groups = rows.slice(0, query.limit).map((row) => row.record as Group);
    const last = groups[groups.length - 1];
    return { groups, nextCursor: rows.length > query.limit && last ? `${padTime(last.createdAt)}!${last.id}` : null };
  }

  /**
   * Makes the next result page of group `id`: every call whose finish sequence is above the last
   * page's `to`, up to the group's current sequence, read under the group row's lock (so every end
   * numbered up to it is committed). Answers null when no call ended since the last page.
   */
  async nextPage(id: string): Promise<GroupResultPageReply | null> {
    const page = await inTx(this.db, async (tx) => {
      const group = await loadGroup(tx, id, 'FOR UPDATE');
      if (!group) throw new NotFoundError(`group "${id}"`);
      const last = await firstOf<GroupResultPage>(tx, 'record', 'SELECT record FROM ferry_group_pages WHERE group_id = $1 ORDER BY page DESC LIMIT 1', [id]);
      const from = last?.to ?? 0;
      const to = group.finishSeq ?? 0;
      if (to <= from) return null;
      const { rows } = await tx.query('SELECT id FROM ferry_calls WHERE group_id = $1 AND finish_seq > $2 AND finish_seq <= $3 ORDER BY finish_seq', [id, from, to]);
      const made: GroupResultPage = { groupId: id, page: (last?.page ?? 0) + 1, from, to, callIds: rows.map((row) => row.id as string), createdAt: Date.now() };
      await tx.query('INSERT INTO ferry_group_pages (group_id, page, record) VALUES ($1, $2, $3)', [id, made.page, JSON.stringify(made)]);
      return made;
    });
    return page && this.reply(page);
  }

  /** Page `page` of group `id` as it was made: the same calls in the same order every time. */
  async getPage(id: string, page: number): Promise<GroupResultPageReply> {
    const stored = await firstOf<GroupResultPage>(this.db, 'record', 'SELECT record FROM ferry_group_pages WHERE group_id = $1 AND page = $2', [id, page]);
    if (!stored) throw new NotFoundError(`result page ${page} of "${id}"`);
    return this.reply(stored);
  }

  private async reply(page: GroupResultPage): Promise<GroupResultPageReply> {
    const { callIds, ...rest } = page;
    const { rows } = await this.db.query('SELECT id, record FROM ferry_calls WHERE id = ANY($1)', [callIds]);
    const byId = new Map(rows.map((row) => [row.id as string, row.record as Call]));
    // A call retention removed since is left out; every other call of the page is answered, in the page's order.
    return { ...rest, calls: callIds.flatMap((callId) => { const call = byId.get(callId); return call ? [withDefaults(call)] : []; }) };
  }

  private async change(id: string, edit: (group: Group) => boolean): Promise<Group> {
    return inTx(this.db, async (tx) => {
      const group = await loadGroup(tx, id, 'FOR UPDATE');
      if (!group) throw new NotFoundError(`group "${id}"`);
      if (edit(group)) await saveGroup(tx, group);
      return group;
    });
  }
}
