import type { JSX } from 'preact';

export interface Line {
  name: string;
  /** One value per point; null leaves a gap. */
  values: (number | null)[];
  class: string;
}

const W = 480;
const H = 140;
const PAD = { left: 56, right: 8, top: 10, bottom: 20 };

/**
 * A small line chart over time, drawn as SVG by hand: a few series over the same x (epoch ms),
 * the y axis from 0 to the largest value (labelled by `yLabel`, else as a plain number), x as clock
 * times unless `xLabel` says otherwise.
 */
export function LineChart(props: { title: string; xs: number[]; lines: Line[]; yLabel?: (y: number) => string; xLabel?: (x: number) => string }): JSX.Element {
  const { title, xs, lines } = props;
  const highest = Math.max(0, ...lines.flatMap((l) => l.values.filter((v): v is number => v !== null)));
  // With nothing to show yet the axis still reads 0 to 1, not 0 to nothing.
  const max = highest > 0 ? highest : 1;
  const x = (i: number): number => PAD.left + (xs.length <= 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (xs.length - 1));
  const y = (v: number): number => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const path = (values: (number | null)[]): string => {
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const clock = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const label = (x: number | undefined): string => (x === undefined ? '' : (props.xLabel ?? clock)(x));
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(2))));
  return (
    <figure class="chart">
      <figcaption>
        {title}
        {lines.map((l) => (
          <span class={`legend ${l.class}`}>{l.name}</span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
        <line class="grid" x1={PAD.left} y1={PAD.top} x2={W - PAD.right} y2={PAD.top} />
        <text class="tick" x={PAD.left - 4} y={PAD.top + 4} text-anchor="end">{(props.yLabel ?? fmt)(max)}</text>
        <text class="tick" x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end">0</text>
        <text class="tick" x={PAD.left} y={H - 4}>{label(xs[0])}</text>
        <text class="tick" x={W - PAD.right} y={H - 4} text-anchor="end">{label(xs.at(-1))}</text>
        {lines.map((l) => (
          <path class={`line ${l.class}`} d={path(l.values)} />
        ))}
        {/* A value between two gaps draws no line: a dot shows it. */}
        {lines.map((l) =>
          l.values.map((v, i) =>
            v === null || (l.values[i - 1] ?? null) !== null || (l.values[i + 1] ?? null) !== null ? null : <circle class={`dot ${l.class}`} cx={x(i).toFixed(1)} cy={y(v).toFixed(1)} r="2.5" />,
          ),
        )}
      </svg>
    </figure>
  );
}
