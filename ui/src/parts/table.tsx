import type { ComponentChildren, JSX } from 'preact';

/** A table of `rows` under `columns` headings, one `row` each; `empty` when there is none. */
export function Table<T>(props: { rows: T[]; columns: string[]; row: (item: T) => JSX.Element; empty: string; testId?: string }): JSX.Element {
  if (props.rows.length === 0) return <p class="empty">{props.empty}</p>;
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>{props.rows.map(props.row)}</tbody>
    </table>
  );
}

/** Labelled facts of one thing (a call, a session…); a fact whose value is null is left out. */
export function Facts({ facts }: { facts: [string, ComponentChildren, string?][] }): JSX.Element {
  return (
    <dl class="facts">
      {facts
        .filter(([, value]) => value !== null)
        .map(([label, value, testId]) => (
          <>
            <dt>{label}</dt>
            <dd data-testid={testId}>{value}</dd>
          </>
        ))}
    </dl>
  );
}
