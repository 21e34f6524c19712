/** How a request's path and query are written. */

/** A query's values; one left out (undefined) or false is not sent. */
export type Query = Record<string, string | number | boolean | undefined>;

/** A path segment: a name, id or callNum, encoded. */
export const seg = (part: string | number): string => encodeURIComponent(String(part));

export function queryString(query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== false) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}
