import type { JSX } from 'preact';
import type { Paged } from '../use-paged';
import { ErrorNote, Pager } from './common';
import { Table } from './table';

/** A cursor-paged list as a table: its error, a line when it is empty, the rows, the pager. */
export function PagedTable<P extends { nextCursor: string | null }, T>(props: {
  paged: Paged<P>;
  rows: (page: P) => T[];
  empty: string;
  columns: string[];
  row: (item: T) => JSX.Element;
}): JSX.Element {
  const { paged } = props;
  return (
    <>
      <ErrorNote error={paged.error} />
      {paged.data ? (
        <>
          <Table rows={props.rows(paged.data)} columns={props.columns} row={props.row} empty={props.empty} />
          <Pager cursors={paged.cursors} next={paged.data.nextCursor} onChange={paged.setCursors} />
        </>
      ) : null}
    </>
  );
}
