// The history store as people read it: the sessions as a table, and a metric's trend per testbed and scenario
// as a table (text) or a line chart with its change points marked (one offline HTML page).
import { formatValue, table } from '../grading/format.js';
import type { SessionRow, TrendGroup } from '../history/trend.js';
import { METRICS } from '../stats/run-model.js';
import { VERSION } from '../version.js';
import { escapeHtml } from '../escape.js';
import { lineChart } from './charts.js';

const short = (id: string) => id.slice(0, 8);
const day = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export function sessionsText(rows: readonly SessionRow[], store: string): string {
  if (rows.length === 0) return `${store}: no sessions\n`;
  const body = rows.map((r) => [
    day(r.startedAt),
    short(r.id),
    r.scenarioKind,
    r.scenarioId,
    r.fingerprint,
    String(r.runs),
    Object.entries(r.states).map(([s, n]) => `${n} ${s}`).join(', '),
    r.headline ? `${METRICS[r.headline.metric].label} ${r.headline.value === null ? '-' : formatValue(r.headline.metric, r.headline.value)}` : '-',
  ]);
  return `${store}: ${rows.length} session(s), newest first\n${table(['started', 'session', 'scenario', 'scenario id', 'testbed', 'runs', 'states', 'median across runs'], body)}`;
}

export function trendText(groups: readonly TrendGroup[], store: string): string {
  if (groups.length === 0) return `${store}: no session measured that metric\n`;
  const out: string[] = [];
  for (const g of groups) {
    const info = METRICS[g.metric];
    out.push(`${info.label} on testbed ${g.fingerprint}, ${g.scenarioKind} (scenario ${g.scenarioId}): ${g.points.length} session(s), median per session (${info.reduction}), range of its runs`);
    const rows = g.points.map((p, i) => {
      const change = g.changes.find((c) => c.index === i);
      return [
        day(p.startedAt),
        short(p.sessionId),
        String(p.runs),
        formatValue(g.metric, p.value),
        p.runs > 1 ? `${formatValue(g.metric, p.min)} to ${formatValue(g.metric, p.max)}` : '-',
        p.undetermined ? `${p.undetermined} run(s) undetermined` : '',
        change ? `<- change ${change.relative >= 0 ? '+' : ''}${(change.relative * 100).toFixed(1)}% (p = ${change.p.toFixed(3)})` : '',
      ];
    });
    out.push(table(['started', 'session', 'runs', 'median', 'range', 'note', 'change point'], rows).trimEnd());
    out.push(`change points: ${g.changes.length ? `${g.changes.length} found` : 'none'} (${g.method})`, '');
  }
  return `${store}\n${out.join('\n')}`;
}

export function trendHtml(groups: readonly TrendGroup[], store: string): string {
  const charts = groups.map((g, i) => {
    const info = METRICS[g.metric];
    const xs = g.points.map((p) => Date.parse(p.startedAt) / 1000);
    const t0 = Math.min(...xs);
    const series = [{ name: 'session median', points: g.points.map((p, k) => [(xs[k] - t0) / 3600, p.value] as [number, number]) }];
    for (const c of g.changes) {
      const x = (xs[c.index] - t0) / 3600;
      const values = g.points.map((p) => p.value);
      series.push({ name: `change ${c.relative >= 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%`, points: [[x, Math.min(...values)], [x, Math.max(...values)]] });
    }
    const note = `${g.points.length} session(s) on testbed ${g.fingerprint}; change points: ${g.changes.length ? g.changes.map((c) => `${(c.relative * 100).toFixed(1)}% at ${day(c.startedAt)} (p = ${c.p.toFixed(3)})`).join(', ') : 'none'} (${g.method})`;
    return lineChart(
      `trend-${i}`,
      `${info.label}: ${g.scenarioKind} (scenario ${g.scenarioId})`,
      series,
      { label: `hours since ${day(g.points[0].startedAt)}`, format: (v) => `${+v.toFixed(2)} h` },
      { label: `${info.label} (${info.unit})`, format: (v) => formatValue(g.metric, v) },
      note,
    );
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="stoq-bench ${escapeHtml(VERSION)}">
<title>stoq-bench history</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #1b1b1b; }
figure.chart { margin: 1rem 0; border: 1px solid #e4e4e4; border-radius: 6px; padding: .5rem; }
figcaption { font-weight: 600; } figure svg { width: 100%; height: auto; } .note, .empty { color: #666; font-size: .85rem; }
svg text { font-size: 13px; fill: #333; } svg .grid { stroke: #e6e6e6; } svg .axis { stroke: #888; } svg .plot { fill: #fcfcfc; }
svg path.series { fill: none; stroke-width: 1.8; }
</style>
</head>
<body>
<h1>stoq-bench history</h1>
<p class="note">${escapeHtml(store)} · one point per session: the median of its runs</p>
${charts.length ? charts.join('\n') : '<p class="empty">no session measured that metric</p>'}
</body>
</html>
`;
}
