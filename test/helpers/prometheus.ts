/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: it throws on any
 * line that is not a well-formed `# HELP`, `# TYPE` or sample, on a sample of no declared family,
 * on a family declared twice or typed after its samples, on a repeated series, and on a histogram
 * whose buckets do not climb to a `+Inf` bucket equal to its `_count`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** Sample names a family of each type may hold, as suffixes of the family's name. */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const fail = (n: number, line: string, why: string): never => {
    throw new Error(`metrics line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
  };
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('metrics text does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)\b/.test(line)) fail(n, line, 'malformed HELP or TYPE line');
        return; // any other comment
      }
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name)) fail(n, line, 'bad metric name');
      const family = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!TYPES.includes(rest as MetricType)) fail(n, line, 'unknown type');
        if (family.samples.length > 0) fail(n, line, 'TYPE after the samples of its family');
        if (seen.has(`TYPE ${name}`)) fail(n, line, 'a second TYPE of one family');
        family.type = rest as MetricType;
      } else {
        if (seen.has(`HELP ${name}`)) fail(n, line, 'a second HELP of one family');
        family.help = unescape(rest, false, () => fail(n, line, 'bad escape in HELP'));
      }
      seen.add(`${kind} ${name}`);
      families.set(name, family);
      return;
    }
    const sample = parseSample(line, () => fail(n, line, 'malformed sample'));
    const family = familyOf(families, sample.name) ?? fail(n, line, 'sample of no declared family');
    const series = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(series)) fail(n, line, 'a series given twice');
    seen.add(series);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function familyOf(families: Map<string, Family>, sampleName: string): Family | undefined {
  for (const family of families.values()) {
    if (SUFFIXES[family.type].some((s) => `${family.name}${s}` === sampleName)) return family;
  }
  return undefined;
}

function parseSample(line: string, bad: () => never): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) bad();
  const [, name = '', labelText, valueText = ''] = m!;
  return { name, labels: labelText ? parseLabels(labelText.slice(1, -1), bad) : {}, value: parseValue(valueText, bad) };
}

function parseLabels(text: string, bad: () => never): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,?)/.exec(rest);
    if (!m) bad();
    const [all, name = '', raw = '', comma] = m!;
    if (!LABEL_NAME.test(name) || name in labels) bad();
    labels[name] = unescape(raw, true, bad);
    rest = rest.slice(all.length);
    if (comma === '' && rest.length > 0) bad();
  }
  return labels;
}

/** `\\` and `\n` in HELP; `\"` too in label values. */
function unescape(text: string, quotes: boolean, bad: () => never): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    return bad();
  });
}

/** A float as Prometheus reads one (Go's ParseFloat): `NaN` and `Inf` in any letter case (prom-client writes `Nan`). */
function parseValue(text: string, bad: () => never): number {
  const word = text.toLowerCase();
  if (word === '+inf' || word === 'inf') return Infinity;
  if (word === '-inf') return -Infinity;
  if (word === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) bad();
  return Number(text);
}

/** Each series' buckets: `le` ascending, counts never falling, ending at `+Inf` equal to its `_count`. */
function checkHistogram(family: Family): void {
  const bySeries = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const series = bySeries.get(key) ?? { buckets: [] };
    bySeries.set(key, series);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      series.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_count')) {
      series.count = s.value;
    }
  }
  for (const [key, series] of bySeries) {
    const last = series.buckets.at(-1);
    if (!last || last[0] !== Infinity || last[1] !== series.count) throw new Error(`${family.name}${key}: buckets do not end at +Inf equal to _count`);
    series.buckets.reduce((prev, b) => {
      if (b[0] <= prev[0] || b[1] < prev[1]) throw new Error(`${family.name}${key}: buckets out of order`);
      return b;
    });
  }
}

/** The value of `name`'s series with (at least) `labels`, summed over the series that match; 0 when none does. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = familyOf(families, name);
  if (!family) return 0;
  return family.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
