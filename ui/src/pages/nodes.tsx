import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { ErrorNote, Section } from '../parts/common';
import { duration, time } from '../parts/format';
import { ProgressBar } from '../parts/status';
import { Table } from '../parts/table';
import { Link } from '../router';
import type { NodeView, WarmContainer } from '../types';
import { useApi } from '../use-api';

/** Heartbeat ages move every second; the list is small and held in the api's memory. */
const REFRESH_MS = 5_000;

/** Warm containers per function (or runtime, for a runtime-wide one): how many, how many busy. */
function warmByFunction(warm: WarmContainer[]): { name: string; total: number; busy: number }[] {
  const by = new Map<string, { name: string; total: number; busy: number }>();
  for (const w of warm) {
    const name = w.fn ?? `${w.runtime} (any)`;
    const entry = by.get(name) ?? { name, total: 0, busy: 0 };
    entry.total++;
    if (w.busy) entry.busy++;
    by.set(name, entry);
  }
  return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function NodesPage(): JSX.Element {
  const nodes = useApi<{ nodes: NodeView[] }>('/v1/nodes');
  useEffect(() => {
    const t = setInterval(nodes.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  return (
    <Section title="Nodes">
      <ErrorNote error={nodes.error} />
      {nodes.data ? (
        <Table
          testId="nodes-table"
          rows={nodes.data.nodes}
          empty="No node is connected."
          columns={['node', 'driver', 'running / capacity', 'memory', 'warm containers', 'heartbeat', 'connected']}
          row={(n) => (
            <tr key={n.nodeId}>
              <td>
                <Link href={`/calls?nodeId=${encodeURIComponent(n.nodeId)}`}>{n.nodeId}</Link>
              </td>
              <td>{n.driver}</td>
              <td class="wide">
                <ProgressBar fraction={n.running / Math.max(1, n.capacity.maxContainers)} label={`${n.running}/${n.capacity.maxContainers}`} />
              </td>
              <td>{`${n.capacity.memoryMb} MiB`}</td>
              <td>
                {n.warm.length === 0
                  ? '–'
                  : warmByFunction(n.warm).map((w) => <div class="mono">{`${w.name}: ${w.total}${w.busy ? ` (${w.busy} busy)` : ''}`}</div>)}
              </td>
              <td>{`${duration(n.lastHeartbeatAgoMs)} ago`}</td>
              <td>{time(n.connectedAt)}</td>
            </tr>
          )}
        />
      ) : null}
    </Section>
  );
}
