import type { DbClient } from '../../../shared/clients/db-client.js';
import { NotFoundError } from '../../../shared/errors.js';
import type { Group, GroupKind } from '../../../shared/protocol/group.js';

/** The group `id` when it is one of `kind`; NOT_FOUND (naming the kind) for anything else. */
export async function groupOfKind(db: DbClient, id: string, kind: GroupKind): Promise<Group> {
  // A malformed id cannot name a group: the same 404 as an unknown one, without a DB round trip.
  if (!/^[A-Za-z0-9]{8,64}$/.test(id)) throw new NotFoundError(`${kind} "${id.slice(0, 80)}"`);
  const group = await db.call('getGroup', { id });
  if (group.kind !== kind) throw new NotFoundError(`${kind} "${id}"`);
  return group;
}

/** Who asks for a group: the API key asking (none when auth is off), and the request's id. */
export interface Asker {
  keyId?: string | undefined;
  requestId?: string | undefined;
}

/** What a group's calls record of who made them: the key that made the group, and the request that did. */
export const madeBy = (group: Group): { invokedBy?: string; requestId?: string } => ({
  ...(group.createdBy ? { invokedBy: group.createdBy } : {}),
  ...(group.requestId ? { requestId: group.requestId } : {}),
});

/** `createdBy` and `requestId` for a new group: the key asking for it, when there is one, and the request's id. */
export const createdBy = (asker: Asker): { createdBy?: string; requestId?: string } => ({
  ...(asker.keyId ? { createdBy: asker.keyId } : {}),
  ...(asker.requestId ? { requestId: asker.requestId } : {}),
});

