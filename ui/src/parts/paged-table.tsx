import type { JSX } from 'preact';
import type { Paged } from '../use-paged';
import { ErrorNote, Pager } from './common';

/** A cursor-paged list as a table: its error, a line when it is empty, the rows, the pager. */
export function PagedTable<P extends { nextCursor: string | null }, T>(props: {
  paged: Paged<P>;
  rows: (page: P) => T[];
  empty: string;
  columns: string[];
  row: (item: T) => JSX.Element;
}): JSX.Element {
  const { paged } = props;
  const rows = paged.data ? props.rows(paged.data) : [];
  return (
    <>
      <ErrorNote error={paged.error} />
      {paged.data && rows.length === 0 ? <p class="empty">{props.empty}</p> : null}
      {rows.length > 0 ? (
        <table>
          <thead>
            <tr>
              {props.columns.map((c) => (
                <th>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>{rows.map(props.row)}</tbody>
        </table>
      ) : null}
      {paged.data ? <Pager cursors={paged.cursors} next={paged.data.nextCursor} onChange={paged.setCursors} /> : null}
    </>
  );
}
