import { http } from './http.js';

/**
 * Every item of a cursor-paginated listing (`/v1/calls`, `/v1/runs/:id/details`, …): `url` with
 * its query, read page by page through `nextCursor`, the items under `key` of each page.
 */
export async function everyPage<T>(url: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Record<string, unknown> = (await http<Record<string, unknown>>('GET', `${url}${cursor ? `&cursor=${cursor}` : ''}`)).body;
    out.push(...(page[key] as T[]));
    cursor = page['nextCursor'] as string | null;
  } while (cursor);
  return out;
}
