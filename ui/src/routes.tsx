import type { JSX } from 'preact';
import { BatchPage, BatchesPage } from './pages/batches';
import { CallPage } from './pages/call';
import { CallsPage } from './pages/calls';
import { DeadLettersPage } from './pages/dead-letters';
import { FunctionPage, FunctionsPage } from './pages/functions';
import { KeysPage } from './pages/keys';
import { NodesPage } from './pages/nodes';
import { OverviewPage } from './pages/overview';
import { RunPage, RunsPage } from './pages/runs';
import { RuntimesPage } from './pages/runtimes';
import { SessionPage, SessionsPage } from './pages/sessions';
import { match, useLocation } from './router';

type Page = (params: Record<string, string>) => JSX.Element;

const PAGES: [string, Page][] = [
  ['/', () => <OverviewPage />],
  ['/calls', () => <CallsPage />],
  ['/calls/:id', (p) => <CallPage id={p['id']!} />],
  ['/sessions', () => <SessionsPage />],
  ['/sessions/:id', (p) => <SessionPage id={p['id']!} />],
  ['/runs', () => <RunsPage />],
  ['/runs/:id', (p) => <RunPage id={p['id']!} />],
  ['/batches', () => <BatchesPage />],
  ['/batches/:id', (p) => <BatchPage id={p['id']!} />],
  ['/functions', () => <FunctionsPage />],
  ['/functions/:name', (p) => <FunctionPage name={p['name']!} />],
  ['/runtimes', () => <RuntimesPage />],
  ['/nodes', () => <NodesPage />],
  ['/dead-letters', () => <DeadLettersPage />],
  ['/keys', () => <KeysPage />],
];

export function Routes(): JSX.Element {
  const { path } = useLocation();
  for (const [pattern, page] of PAGES) {
    const params = match(pattern, path);
    // The key makes a page start afresh when only its id changes.
    if (params) return <div key={path}>{page(params)}</div>;
  }
  return <p class="error">No page at {path}.</p>;
}
