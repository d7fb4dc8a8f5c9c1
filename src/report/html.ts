// The report as one self-contained HTML page: inline CSS and the inline SVG charts of ./charts.ts (no
// script at all, no CDN, no external asset; a Content-Security-Policy forbids loading or running anything). Charts: throughput over
// time per run, round-trip latency CDF from the raw samples, smoothed RTT, cwnd and loss over time, the
// per-run values with the across-run interval, and for a comparison, baseline vs candidate with their
// confidence intervals and the candidate/baseline ratio against the threshold.
import { dataSenders, isTransfer, KINDS, type Side } from '../kinds.js';
import type { SideRecord } from '../record.js';
import { METRICS, type MetricId } from '../stats/run-model.js';
import { VERSION } from '../version.js';
import { escapeHtml } from '../escape.js';
import { bytesTick, countTick, frame, intervalChart, lineChart, metricAxis, PALETTE, rateTick, secTick, usTick, type IntervalRow } from './charts.js';
import { baselineText, fleetView, fmtInterval, fmtMetric, fmtRatio, runFigures, scenarioGroups, type ReportInput, type ScenarioGroup } from './model.js';
import { formatLevel } from '../units.js';

/** Thins a sorted sample to at most k points of its empirical CDF (keeping both ends). */
function cdfPoints(sorted: number[], k = 400): Array<[number, number]> {
  const n = sorted.length;
  if (n === 0) return [];
  const idx = n <= k ? sorted.map((_, i) => i) : Array.from({ length: k }, (_, j) => Math.round((j * (n - 1)) / (k - 1)));
  return idx.map((i) => [sorted[i], (i + 1) / n]);
}

const mid = (iv: { startS: number; endS: number }) => (iv.startS + iv.endS) / 2;

function groupHtml(file: string, g: ScenarioGroup, level: number, index: number): string {
  const id = `g${index}`;
  const runs = g.runs;
  const parts: string[] = [
    `<h3>${escapeHtml(g.kind)} <span class="muted">scenario <code>${escapeHtml(g.scenarioId)}</code>, ${runs.length} run(s), testbed ${g.fingerprints.map((f) => `<code>${escapeHtml(f)}</code>`).join(', ')}</span></h3>`,
  ];
  if (g.failed.length > 0) parts.push(`<p class="bad">${g.failed.length} run(s) did not complete: ${escapeHtml(g.failed.map((r) => `${r.label} ${r.record.end.state}${r.record.end.error ? ` (${r.record.end.error.code}: ${r.record.end.error.message})` : ''}`).join('; '))}</p>`);
  // across-run figures
  if (g.metrics.length > 0) {
    parts.push(
      `<table><thead><tr><th>metric</th><th>median across runs</th><th>${formatLevel(level)} interval</th><th>runs</th><th>method</th></tr></thead><tbody>${g.metrics
        .map((m) => `<tr><td>${escapeHtml(m.label)}</td><td>${escapeHtml(fmtMetric(m.metric, m.centre))}</td><td>${escapeHtml(fmtInterval(m.metric, m.lower, m.upper))}</td><td>${m.n}</td><td class="muted">${escapeHtml(m.method)}</td></tr>`)
        .join('')}</tbody></table>`,
    );
  }
  const charts: string[] = [];
  const kind = KINDS[g.kind];
  const transfer = isTransfer(g.kind);
  const timed = kind.sample === 'handshake' ? { title: 'Handshake time', axis: 'handshake time' } : { title: 'Round-trip latency', axis: 'latency' };
  const perRun = (f: (iv: ScenarioGroup['runs'][number]['record']['intervals'][number]) => number | undefined) =>
    runs.map((r) => ({ name: r.label, points: r.record.intervals.map((iv) => [mid(iv), f(iv) ?? NaN] as [number, number]) }));
  charts.push(lineChart(`${id}-throughput`, 'Goodput over time, per run (interval midpoints)', perRun((iv) => iv.goodputBps), { label: 'time since the run started (s)', format: secTick, zero: true }, { label: 'goodput', format: rateTick }));
  const withSamples = runs.filter((r) => (r.record.samples?.latencyUs?.length ?? 0) > 0);
  if (withSamples.length > 0) {
    const series = withSamples.map((r) => ({ name: r.label, points: cdfPoints([...(r.record.samples!.latencyUs as number[])].sort((a, b) => a - b)) }));
    const all = series.flatMap((s) => s.points.map((p) => p[0]));
    const log = Math.max(...all) / Math.max(Math.min(...all), 1e-9) > 20;
    charts.push(
      lineChart(
        `${id}-cdf`,
        `${timed.title} CDF, per run (raw samples)`,
        series,
        { label: `${timed.axis} (${log ? 'log scale' : 'linear'})`, format: usTick, log },
        { label: 'fraction of samples at or below', format: (v) => `${+(v * 100).toFixed(0)}%`, max: 1 },
        `${withSamples.reduce((s, r) => s + (r.record.samples!.latencyUs as number[]).length, 0)} samples; each curve thinned to at most 400 points of its empirical CDF`,
      ),
    );
  } else if (!transfer) {
    charts.push(frame('Round-trip latency CDF', '<p class="empty">the records carry no raw latency samples</p>', `${id}-cdf`));
  }
  // Path figures are the data sender's (the server's in a download), labelled; a side whose figures are
  // unknown draws nothing, and the note says why.
  const senders = dataSenders(runs[0].record.scenario);
  const sides: Side[] = senders.length > 0 ? senders : ['client'];
  const whose = sides.join(' and ');
  const perSide = (f: (s: SideRecord) => number | null) =>
    runs.flatMap((r) =>
      sides.map((side) => ({
        name: sides.length > 1 ? `${r.label} (${side})` : r.label,
        points: r.record.intervals.map((iv) => [mid(iv), iv[side] ? (f(iv[side]) ?? NaN) : NaN] as [number, number]),
      })),
    );
  const unknown = [...new Set(runs.flatMap((r) => sides.filter((s) => r.record.environment[s] === null).map((s) => `${s}: ${r.record.serverView.reason ?? 'not shared'}`)))];
  const note = unknown.length > 0 ? `Unknown in some runs (${unknown.join('; ')}).` : undefined;
  charts.push(lineChart(`${id}-rtt`, `Smoothed RTT over time (sender: ${whose}; quiche's path stats)`, perSide((s) => s.rttUs), { label: 'time (s)', format: secTick, zero: true }, { label: 'smoothed RTT', format: usTick }, note));
  charts.push(lineChart(`${id}-cwnd`, `Congestion window over time (sender: ${whose})`, perSide((s) => s.cwnd), { label: 'time (s)', format: secTick, zero: true }, { label: 'cwnd', format: bytesTick }, note));
  charts.push(lineChart(`${id}-loss`, `Packets lost per interval (sender: ${whose})`, perSide((s) => s.lost), { label: 'time (s)', format: secTick, zero: true }, { label: 'packets lost', format: countTick }, note));
  // per-run values with the across-run interval, for the headline metric
  const headline = g.metrics[0];
  if (headline) {
    const rows = runs
      .filter((r) => r.summary.metrics[headline.metric] !== undefined)
      .map((r, i) => {
        const bb = headline.metric === 'goodput' ? r.summary.withinRun?.blockBootstrap : undefined;
        return { label: r.label, centre: r.summary.metrics[headline.metric] as number, lower: bb?.lower ?? null, upper: bb?.upper ?? null, color: PALETTE[i % PALETTE.length] };
      });
    rows.push({ label: `median of ${headline.n} run(s)`, centre: headline.centre, lower: headline.lower, upper: headline.upper, color: '#000' });
    charts.push(
      intervalChart(
        `${id}-runs`,
        `${headline.label}: each run${headline.metric === 'goodput' ? ' (within-run block-bootstrap interval)' : ''} and the median across runs (${formatLevel(level)} interval)`,
        rows,
        metricAxis(headline.metric),
        [],
        undefined,
        headline.method,
      ),
    );
  }
  parts.push(`<div class="charts">${charts.join('\n')}</div>`);
  parts.push(
    `<details><summary>runs</summary><table><thead><tr><th>run</th><th>state</th><th>duration</th><th>transferred</th><th>goodput</th><th>steady goodput</th><th>p50</th><th>p99</th><th>rate</th><th>sender lost / retrans</th><th>limited by</th><th>steadiness</th></tr></thead><tbody>${runs
      .map((r) => {
        const f = runFigures(r);
        return `<tr><td>${escapeHtml(r.label)}</td>${[f.state, f.duration, f.transferred, f.goodput, f.steady, f.p50, f.p99, f.rate, f.lost, f.limit, f.steadiness].map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
      })
      .join('')}</tbody></table></details>`,
  );
  for (const r of runs) {
    const fleet = fleetView(r.record);
    if (!fleet) continue;
    parts.push(
      `<h4>Clients of ${escapeHtml(r.label)}</h4><ul>${fleet.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` +
        `<table><thead><tr>${fleet.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${fleet.rows
          .map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
    );
  }
  void file;
  return `<section class="group">${parts.join('\n')}</section>`;
}

const VERDICT_COLOR: Record<string, string> = { Regression: '#d62728', Improvement: '#2ca02c', Equivalent: '#1f77b4', Inconclusive: '#ff7f0e', Invalid: '#7f7f7f' };
/** The colour of a verdict read from a file (any other text: black). */
const verdictColor = (verdict: string, otherwise = '#000') => (Object.hasOwn(VERDICT_COLOR, verdict) ? VERDICT_COLOR[verdict] : otherwise);

function comparisonHtml(input: Extract<ReportInput, { kind: 'comparison' }>, index: number): string {
  const c = input.comparison;
  const level = c.level ?? 0.9;
  const metrics = c.metrics ?? [];
  const parts = [
    `<h2>Comparison <span class="muted">${escapeHtml(input.file)}</span></h2>`,
    `<p class="verdict" style="border-color:${verdictColor(c.verdict)}">Verdict: <strong>${escapeHtml(c.verdict)}</strong>${c.failed === undefined ? '' : c.failed ? ` — gate <strong class="bad">FAILED</strong> (fail-on ${escapeHtml(c.failOn ?? '')})` : ` — gate passed (fail-on ${escapeHtml(c.failOn ?? '')})`}</p>`,
    `<ul><li>baseline: ${escapeHtml(baselineText(c))}</li>${c.candidate ? `<li>candidate: ${escapeHtml(c.candidate)}</li>` : ''}${c.history ? `<li>history: ${escapeHtml(c.history)}</li>` : ''}${c.tier?.name ? `<li>tier: ${escapeHtml(c.tier.name)} (${escapeHtml(c.tier.basis)})</li>` : ''}</ul>`,
  ];
  if (c.gates && !c.gates.ok) parts.push(`<p class="bad">Gates failed:</p><ul>${c.gates.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`);
  if (metrics.length > 0) {
    parts.push(
      `<table><thead><tr><th>metric</th><th>baseline</th><th>candidate</th><th>candidate/baseline − 1 (${formatLevel(level)})</th><th>verdict</th><th>severity</th><th>reason</th></tr></thead><tbody>${metrics
        .map(
          (m) =>
            `<tr><td>${escapeHtml(m.label)}</td><td>${escapeHtml(`${fmtMetric(m.metric, m.baseline.centre)} ${fmtInterval(m.metric, m.baseline.lower, m.baseline.upper)}`)}</td><td>${escapeHtml(`${fmtMetric(m.metric, m.candidate.centre)} ${fmtInterval(m.metric, m.candidate.lower, m.candidate.upper)}`)}</td><td>${escapeHtml(`${fmtRatio(m.ratio.estimate)} [${fmtRatio(m.ratio.lower)}, ${fmtRatio(m.ratio.upper)}]`)}</td><td style="color:${verdictColor(m.verdict)}"><strong>${escapeHtml(m.verdict)}</strong></td><td>${escapeHtml(m.severity ?? '-')}</td><td>${escapeHtml(m.reason)}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
    const charts: string[] = [];
    // ratio (percent change) of every metric against its threshold band
    const ratioRows: IntervalRow[] = metrics.map((m) => ({
      label: m.label,
      centre: ((m.ratio.estimate ?? NaN) - 1) * 100,
      lower: m.ratio.lower === null ? null : (m.ratio.lower - 1) * 100,
      upper: m.ratio.upper === null ? null : (m.ratio.upper - 1) * 100,
      color: VERDICT_COLOR[m.verdict],
      note: m.verdict,
    }));
    const tau = Math.max(...metrics.map((m) => m.threshold?.tau ?? 0));
    charts.push(
      intervalChart(
        `c${index}-ratio`,
        `Candidate / baseline − 1, per metric, with its ${formatLevel(level)} interval (Hodges-Lehmann on logs)`,
        ratioRows,
        { label: 'change of candidate against baseline (%)', format: (v) => `${v > 0 ? '+' : ''}${+v.toFixed(1)}%` },
        [{ value: 0, label: 'no change' }],
        tau > 0 ? { lower: (Math.exp(-tau) - 1) * 100, upper: (Math.exp(tau) - 1) * 100, label: `largest threshold ±${(tau * 100).toFixed(1)}% (log)` } : undefined,
        'Shaded: the widest threshold band among the metrics; each metric has its own threshold (see the table). Colour: the verdict.',
      ),
    );
    for (const m of metrics) {
      charts.push(
        intervalChart(
          `c${index}-${m.metric}`,
          `${m.label}: baseline vs candidate (${formatLevel(level)} intervals)`,
          [
            { label: `baseline (${m.baseline.n} runs)`, centre: m.baseline.centre, lower: m.baseline.lower, upper: m.baseline.upper, color: '#1f77b4' },
            { label: `candidate (${m.candidate.n} runs)`, centre: m.candidate.centre, lower: m.candidate.lower, upper: m.candidate.upper, color: verdictColor(m.verdict, '#d62728') },
          ],
          metricAxis(m.metric, false),
          m.slo ? [{ value: sloLimit(m.slo.text, m.metric), label: m.slo.text }].filter((r) => Number.isFinite(r.value)) : [],
          undefined,
          `${m.baseline.method}; ${m.candidate.method}`,
        ),
      );
    }
    parts.push(`<div class="charts">${charts.join('\n')}</div>`);
  }
  return `<section class="input">${parts.join('\n')}</section>`;
}

/** The limit of an SLO text such as "goodput>=1Gbps" in the metric's own unit (NaN when unreadable). */
function sloLimit(text: string, metric: MetricId): number {
  const m = /(>=|<=)\s*(\S+)$/.exec(text);
  if (!m) return NaN;
  const v = m[2];
  const num = parseFloat(v);
  if (!Number.isFinite(num)) return NaN;
  if (METRICS[metric].unit === 'bit/s') {
    const f = /([kKmMgGtT])/.exec(v.replace(/bps|bit\/s|b\/s/, ''))?.[1]?.toLowerCase();
    return num * (f ? { k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[f as 'k']! : 1);
  }
  if (METRICS[metric].unit === 'us') {
    if (/ms$/.test(v)) return num * 1e3;
    if (/us$/.test(v)) return num;
    if (/ns$/.test(v)) return num / 1e3;
    return num * 1e6;
  }
  return num;
}

function validationHtml(input: Extract<ReportInput, { kind: 'validation' }>, index: number): string {
  const v = input.validation;
  const rows = v.expectations
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.text)}</td><td>${escapeHtml(e.measured ? fmtMetric(e.metric, e.measured.centre) : 'n/a')}</td><td>${escapeHtml(fmtInterval(e.metric, e.measured?.lower, e.measured?.upper))}</td><td>${escapeHtml(fmtMetric(e.metric, e.bound))}</td><td class="${e.verdict === 'PASS' ? 'good' : 'bad'}"><strong>${escapeHtml(e.verdict)}</strong></td><td>${escapeHtml(e.reason)}</td></tr>`,
    )
    .join('');
  const charts = v.expectations.map((e, i) =>
    intervalChart(
      `v${index}-${i}`,
      `${e.text}: measured ${formatLevel(v.level)} interval`,
      [{ label: 'measured', centre: e.measured?.centre ?? NaN, lower: e.measured?.lower ?? null, upper: e.measured?.upper ?? null, color: e.verdict === 'PASS' ? '#2ca02c' : '#d62728' }],
      metricAxis(e.metric, false),
      [{ value: e.limit, label: `expected ${e.op} ${fmtMetric(e.metric, e.limit)}` }],
      undefined,
      e.measured?.method,
    ),
  );
  return `<section class="input"><h2>Validation <span class="muted">${escapeHtml(input.file)}</span></h2>
<p class="verdict" style="border-color:${v.passed ? '#2ca02c' : '#d62728'}"><strong class="${v.passed ? 'good' : 'bad'}">${v.passed ? 'PASS' : 'FAIL'}</strong>: ${v.expectations.filter((e) => e.verdict === 'PASS').length} of ${v.expectations.length} expectation(s) met — ${escapeHtml(v.source)}</p>
<table><thead><tr><th>expectation</th><th>measured</th><th>${formatLevel(v.level)} interval</th><th>bound checked</th><th>result</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>
<div class="charts">${charts.join('\n')}</div></section>`;
}

const CSS = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.6rem; }
.muted { color: #666; font-weight: normal; font-size: .9em; } code { font-size: .9em; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .85rem; } th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } .good { color: #1a7f37; } .bad { color: #c62828; }
.verdict { border-left: 5px solid; padding: .4rem .8rem; background: #fafafa; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid #e4e4e4; border-radius: 6px; padding: .5rem; background: #fff; }
figcaption { font-weight: 600; font-size: .9rem; margin-bottom: .3rem; } figure svg { width: 100%; height: auto; display: block; }
.note, .empty { color: #666; font-size: .8rem; margin: .3rem 0 0; }
svg text { font-size: 13px; fill: #333; } svg .tick { fill: #555; } svg .label { font-size: 14px; fill: #222; }
svg .plot { fill: #fcfcfc; stroke: none; } svg .grid { stroke: #e6e6e6; stroke-width: 1; } svg .axis { stroke: #888; }
svg path.series { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; } svg path.interval { stroke-width: 2.2; }
svg .band { fill: #1f77b4; opacity: .1; } svg .ref { stroke: #444; stroke-dasharray: 4 3; } svg .ref-label { font-size: 12px; }
details { margin: .5rem 0 1rem; } summary { cursor: pointer; color: #444; }
@media print { .charts { display: block; } figure.chart { break-inside: avoid; margin-bottom: 1rem; } }
`;

/** The whole report as one self-contained HTML page (works offline; loads nothing). */
export function renderHtml(inputs: readonly ReportInput[], options: { title?: string; level?: number } = {}): string {
  const level = options.level ?? 0.95;
  const title = options.title ?? 'stoq-bench report';
  let g = 0;
  const sections = inputs.map((input, i) => {
    if (input.kind === 'comparison') return comparisonHtml(input, i);
    if (input.kind === 'validation') return validationHtml(input, i);
    const groups = scenarioGroups(input.records, level);
    return `<section class="input"><h2>Runs <span class="muted">${escapeHtml(input.file)}: ${input.records.length} record(s)</span></h2>\n${groups.map((grp) => groupHtml(input.file, grp, level, g++)).join('\n')}</section>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="stoq-bench ${escapeHtml(VERSION)}">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p class="muted">stoq-bench ${escapeHtml(VERSION)} · ${inputs.length} input(s): ${escapeHtml(inputs.map((i) => i.file).join(', '))} · intervals at ${formatLevel(level)} unless stated</p></header>
${sections.join('\n')}
</body>
</html>
`;
}
