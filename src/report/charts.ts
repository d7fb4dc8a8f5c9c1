// Charts drawn as inline SVG (no script needed to see them, nothing loaded): line charts and interval
// charts with their axes, ticks and legends, for the HTML reports (./html.ts, ./trend.ts).
import { escapeHtml } from '../escape.js';
import { METRICS, type MetricId } from '../stats/run-model.js';
import { formatBytes, formatMicros } from '../units.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const W = 760;
const H = 300;
const M = { l: 92, r: 24, t: 34, b: 46 };

const n2 = (v: number) => (Math.round(v * 100) / 100).toString();

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // integer multiples of the step, so 0.1 + 0.2 never shows as 0.30000000000000004
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const f of [1, 2, 5]) {
      const v = f * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface Axis {
  label: string;
  format: (v: number) => string;
  log?: boolean;
  /** Force the domain to start at 0 (linear axes). */
  zero?: boolean;
  max?: number;
}

function legend(names: string[]): string {
  const shown = names.slice(0, 10);
  const items = shown.map((name, i) => {
    const x = M.l + 8 + (i % 5) * 130;
    const y = 12 + Math.floor(i / 5) * 14;
    return `<g class="legend-item"><rect x="${x}" y="${y - 8}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y + 1}">${escapeHtml(name.length > 16 ? `${name.slice(0, 15)}…` : name)}</text></g>`;
  });
  if (names.length > shown.length) items.push(`<text x="${W - M.r}" y="12" text-anchor="end">+${names.length - shown.length} more</text>`);
  return items.join('');
}

export function frame(title: string, body: string, id: string, note?: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(id)}"><figcaption>${escapeHtml(title)}</figcaption>${body}${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}</figure>`;
}

/** A line chart of one or more series, as inline SVG. */
export function lineChart(id: string, title: string, series: Series[], x: Axis, y: Axis, note?: string): string {
  const all = series.flatMap((s) => s.points).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && (!x.log || a > 0));
  if (all.length === 0) return frame(title, `<p class="empty">no data</p>`, id, note);
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), y.max ?? Math.max(...all.map((p) => p[1]))];
  if (x.zero && !x.log) x0 = Math.min(0, x0);
  if (y.zero !== false) y0 = Math.min(0, y0);
  if (x1 === x0) x1 = x0 + (x.log ? x0 : 1);
  if (y1 === y0) y1 = y0 + (Math.abs(y0) || 1);
  if (y.max === undefined) y1 += (y1 - y0) * 0.05;
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const sx = x.log ? (v: number) => M.l + ((Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0))) * pw : (v: number) => M.l + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => M.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const xt = x.log ? logTicks(x0, x1) : niceTicks(x0, x1);
  const yt = niceTicks(y0, y1);
  const grid = [
    ...yt.map((v) => `<line class="grid" x1="${M.l}" x2="${W - M.r}" y1="${n2(sy(v))}" y2="${n2(sy(v))}"/><text class="tick" x="${M.l - 6}" y="${n2(sy(v) + 4)}" text-anchor="end">${escapeHtml(y.format(v))}</text>`),
    ...xt.map((v) => `<line class="grid" y1="${M.t}" y2="${M.t + ph}" x1="${n2(sx(v))}" x2="${n2(sx(v))}"/><text class="tick" y="${M.t + ph + 16}" x="${n2(sx(v))}" text-anchor="middle">${escapeHtml(x.format(v))}</text>`),
  ].join('');
  const paths = series
    .map((s, i) => {
      const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && (!x.log || a > 0));
      if (pts.length === 0) return '';
      const d = pts.map(([a, b], k) => `${k === 0 ? 'M' : 'L'}${n2(sx(a))},${n2(sy(b))}`).join(' ');
      // a single point still needs a visible mark
      const dot = pts.length === 1 ? `<circle cx="${n2(sx(pts[0][0]))}" cy="${n2(sy(pts[0][1]))}" r="3" fill="${PALETTE[i % PALETTE.length]}"/>` : '';
      return `<path class="series" data-series="${escapeHtml(s.name)}" data-points="${pts.length}" stroke="${PALETTE[i % PALETTE.length]}" d="${d}${pts.length === 1 ? ' l0.01,0' : ''}"><title>${escapeHtml(s.name)}</title></path>${dot}`;
    })
    .join('');
  const svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">
<rect class="plot" x="${M.l}" y="${M.t}" width="${pw}" height="${ph}"/>${grid}
<line class="axis" x1="${M.l}" x2="${W - M.r}" y1="${M.t + ph}" y2="${M.t + ph}"/><line class="axis" x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ph}"/>
${paths}
<text class="label" x="${M.l + pw / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(x.label)}</text>
<text class="label" transform="translate(14 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(y.label)}</text>
${legend(series.map((s) => s.name))}
</svg>`;
  return frame(title, svg, id, note);
}

export interface IntervalRow {
  label: string;
  centre: number;
  lower: number | null;
  upper: number | null;
  color?: string;
  note?: string;
}

/** Dots with confidence whiskers, one row each, on a shared axis; optional reference lines and a shaded band. */
export function intervalChart(
  id: string,
  title: string,
  rows: IntervalRow[],
  x: Axis,
  refs: Array<{ value: number; label: string }> = [],
  band?: { lower: number; upper: number; label: string },
  note?: string,
): string {
  const values = rows.flatMap((r) => [r.centre, r.lower, r.upper]).concat(refs.map((r) => r.value), band ? [band.lower, band.upper] : []);
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (rows.length === 0 || finite.length === 0) return frame(title, `<p class="empty">no data</p>`, id);
  let x0 = Math.min(...finite);
  let x1 = Math.max(...finite);
  if (x.zero) x0 = Math.min(0, x0);
  const pad = (x1 - x0 || Math.abs(x1) || 1) * 0.08;
  x0 -= x.zero && x0 === 0 ? 0 : pad;
  x1 += pad;
  const rowH = 26;
  const h = M.t + rows.length * rowH + M.b;
  const lm = 150;
  const pw = W - lm - M.r;
  const sx = (v: number) => lm + ((v - x0) / (x1 - x0)) * pw;
  const yOf = (i: number) => M.t + i * rowH + rowH / 2;
  const ticks = niceTicks(x0, x1);
  const grid = ticks
    .map((v) => `<line class="grid" y1="${M.t}" y2="${h - M.b}" x1="${n2(sx(v))}" x2="${n2(sx(v))}"/><text class="tick" y="${h - M.b + 16}" x="${n2(sx(v))}" text-anchor="middle">${escapeHtml(x.format(v))}</text>`)
    .join('');
  const bandSvg = band
    ? `<rect class="band" x="${n2(sx(band.lower))}" y="${M.t}" width="${n2(Math.max(0.5, sx(band.upper) - sx(band.lower)))}" height="${h - M.t - M.b}"><title>${escapeHtml(band.label)}</title></rect>`
    : '';
  const refSvg = refs
    .map((r) => `<line class="ref" x1="${n2(sx(r.value))}" x2="${n2(sx(r.value))}" y1="${M.t - 4}" y2="${h - M.b}"/><text class="ref-label" x="${n2(sx(r.value))}" y="${M.t - 8}" text-anchor="middle">${escapeHtml(r.label)}</text>`)
    .join('');
  const marks = rows
    .map((r, i) => {
      const y = yOf(i);
      const color = r.color ?? PALETTE[i % PALETTE.length];
      const label = `<text class="row-label" x="${lm - 8}" y="${n2(y + 4)}" text-anchor="end">${escapeHtml(r.label)}</text>`;
      const hasCi = r.lower !== null && r.upper !== null && Number.isFinite(r.lower) && Number.isFinite(r.upper);
      const whisker = hasCi
        ? `<path class="series interval" data-series="${escapeHtml(r.label)}" stroke="${color}" d="M${n2(sx(r.lower as number))},${n2(y)} L${n2(sx(r.upper as number))},${n2(y)} M${n2(sx(r.lower as number))},${n2(y - 6)} L${n2(sx(r.lower as number))},${n2(y + 6)} M${n2(sx(r.upper as number))},${n2(y - 6)} L${n2(sx(r.upper as number))},${n2(y + 6)}"><title>${escapeHtml(`${r.label}: ${x.format(r.lower as number)} to ${x.format(r.upper as number)}`)}</title></path>`
        : '';
      const dot = Number.isFinite(r.centre) ? `<circle class="centre" cx="${n2(sx(r.centre))}" cy="${n2(y)}" r="4.5" fill="${color}"><title>${escapeHtml(`${r.label}: ${x.format(r.centre)}${r.note ? ` (${r.note})` : ''}`)}</title></circle>` : '';
      return label + whisker + dot;
    })
    .join('');
  const svg = `<svg viewBox="0 0 ${W} ${h}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">
<rect class="plot" x="${lm}" y="${M.t}" width="${pw}" height="${h - M.t - M.b}"/>${bandSvg}${grid}${refSvg}${marks}
<text class="label" x="${lm + pw / 2}" y="${h - 6}" text-anchor="middle">${escapeHtml(x.label)}</text>
</svg>`;
  return frame(title, svg, id, note);
}

// ---- axis formats

/** A compact rate for tick labels: three significant digits at most (`500 Mbit/s`, `1.5 Gbit/s`). */
export const rateTick = (v: number) => {
  if (v === 0) return '0';
  const units: Array<[number, string]> = [[1e12, 'Tbit/s'], [1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'kbit/s'], [1, 'bit/s']];
  const [scale, unit] = units.find(([s]) => Math.abs(v) >= s) ?? [1, 'bit/s'];
  return `${+(v / scale).toPrecision(3)} ${unit}`;
};
export const secTick = (v: number) => `${+v.toFixed(3)} s`;
export const usTick = (v: number) => (v === 0 ? '0' : formatMicros(v).replace(/\.0 us$/, ' us').replace(/\.00 /, ' '));
export const bytesTick = (v: number) => (v === 0 ? '0' : formatBytes(v).replace(/\.00 /, ' '));
export const countTick = (v: number) => `${+v.toPrecision(4)}`;

/** An axis in the metric's unit; `zero` anchors it at 0, otherwise it spans the data (to show overlaps). */
export function metricAxis(metric: MetricId, zero = true): Axis {
  const unit = METRICS[metric].unit;
  const label = `${METRICS[metric].label} (${unit === 'us' ? 'microseconds' : unit})`;
  if (unit === 'bit/s') return { label, format: rateTick, zero };
  if (unit === 'us') return { label, format: usTick, zero };
  return { label, format: (v) => `${+v.toPrecision(4)}/s`, zero };
}
