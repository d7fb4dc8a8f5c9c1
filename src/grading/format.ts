// Plain-text rendering of summaries and comparisons for the terminal; every interval printed with its level.
import { formatMicros, formatRate } from '../units.js';
import type { Summary } from '../stats/descriptive.js';
import { METRICS, type MetricId, type RunSummary } from '../stats/run-model.js';
import type { Comparison } from './compare.js';

export function formatValue(metric: MetricId | undefined, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  if (!metric) return fmtNum(v);
  const unit = METRICS[metric].unit;
  if (unit === 'bit/s') return formatRate(v);
  if (unit === 'us') return formatMicros(v);
  return `${fmtNum(v)}/s`;
}

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(4);
  return Number(v.toPrecision(6)).toString();
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}%` : 'n/a';
}

function lvl(level: number): string {
  return `${+(level * 100).toFixed(2)}%`;
}

/** A fixed-width table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** The descriptive summary of one sample, as text. */
export function formatSummary(s: Summary, metric?: MetricId): string {
  const v = (x: number | null | undefined) => formatValue(metric, x);
  const out: string[] = [];
  out.push(`n ${s.n}   min ${v(s.min)}   max ${v(s.max)}`);
  out.push(`mean ${v(s.mean)}   sd ${v(s.sd)}   sem ${v(s.sem)}   moe ${v(s.moe)}   rme ${s.rme.toFixed(2)}%   (${s.conventions.moe})`);
  const mi = s.medianInterval;
  out.push(`median ${v(s.median)}   ${lvl(s.level)} CI ${mi ? `[${v(mi.lower)}, ${v(mi.upper)}] (order statistics, coverage ${mi.coverage.toFixed(4)})` : 'n/a (too few values)'}`);
  out.push(`percentiles (${s.conventions.percentiles}):`);
  for (const [key, p] of Object.entries(s.percentiles)) {
    out.push(
      p.value === null
        ? `  ${key.padEnd(5)} null: ${p.reason}`
        : `  ${key.padEnd(5)} ${v(p.value)}   ${lvl(s.level)} CI [${v(p.interval!.lower)}, ${v(p.interval!.upper)}]`,
    );
  }
  out.push(`q1 ${v(s.q1)}   q3 ${v(s.q3)}   IQR ${v(s.iqr)}   MAD ${v(s.mad)} (normal-scaled ${v(s.madScaled)})`);
  out.push(`CV ${pct(s.cv)}   robust CV ${pct(s.robustCv)}   Hodges-Lehmann centre ${v(s.hodgesLehmann.value)} (${s.hodgesLehmann.method})`);
  const mz = s.outliers.modifiedZ;
  out.push(
    `outliers (counted, not dropped): Tukey 1.5 IQR low ${s.outliers.tukey.low} high ${s.outliers.tukey.high}; modified z > ${mz.threshold}: ${mz.count ?? `n/a (${mz.reason})`}`,
  );
  if (s.lag1 !== null) out.push(`lag-1 autocorrelation ${s.lag1.toFixed(3)}   effective n ${s.effectiveN!.toFixed(1)}`);
  if (s.drift) {
    out.push(`drift (${s.drift.method}): slope ${fmtNum(s.drift.slope)} per step, ${lvl(s.drift.level)} CI [${fmtNum(s.drift.lower)}, ${fmtNum(s.drift.upper)}]`);
  }
  return out.join('\n') + '\n';
}

/** One line per run: state, warm-up, steadiness and the run-level metrics. */
export function formatRuns(runs: readonly RunSummary[]): string {
  const metrics = (Object.keys(METRICS) as MetricId[]).filter((m) => runs.some((r) => r.metrics[m] !== undefined || r.undetermined[m] !== undefined));
  const rows = runs.map((r) => [
    r.sessionId,
    String(r.run),
    r.state,
    `${r.warmup.omittedIntervals} (${r.warmup.omittedS.toFixed(1)} s)`,
    r.steadiness.status + (r.steadiness.drift ? ` drift ${pct(r.steadiness.drift.relative)}` : ''),
    r.steadiness.lag1 === null ? 'n/a' : r.steadiness.lag1.toFixed(2),
    ...metrics.map((m) => (r.metrics[m] === undefined ? '-' : formatValue(m, r.metrics[m]))),
  ]);
  const notes = runs
    .filter((r) => r.steadiness.status !== 'steady' || r.state !== 'completed')
    .map((r) => `  ${r.sessionId}#${r.run}: ${r.steadiness.status}${r.steadiness.reasons.length ? `: ${r.steadiness.reasons.join('; ')}` : ''}`);
  for (const r of runs) {
    for (const [m, why] of Object.entries(r.undetermined)) notes.push(`  ${r.sessionId}#${r.run}: ${METRICS[m as MetricId].label} not determined: ${why}`);
  }
  return (
    table(['session', 'run', 'state', 'warm-up omitted', 'steadiness', 'lag1', ...metrics.map((m) => METRICS[m].label)], rows) +
    (notes.length ? `flagged (kept, never dropped):\n${notes.join('\n')}\n` : '')
  );
}

/** The comparison, one block per metric, with the overall verdict last. */
export function formatComparison(c: Comparison, baselineDescription: string): string {
  const out: string[] = [];
  out.push(`baseline: ${baselineDescription}`);
  out.push(`runs: baseline ${c.runs.baseline}, candidate ${c.runs.candidate}; intervals at ${lvl(c.level)} (two-sided)`);
  if (!c.gates.ok) out.push(`gates failed: ${c.gates.reasons.join('; ')}`);
  const rows = c.metrics.map((m) => {
    const change = m.ratio.estimate - 1;
    return [
      m.label,
      formatValue(m.metric, m.baseline.centre),
      formatValue(m.metric, m.candidate.centre),
      pct(change),
      `[${pct(m.ratio.lower - 1)}, ${pct(m.ratio.upper - 1)}] @${lvl(m.ratio.level)}`,
      Number.isFinite(m.test.p) ? `${fmtNum(m.test.p)} (BH ${fmtNum(m.test.pAdjusted)})` : 'n/a',
      `${(Math.expm1(m.threshold.tau) * 100).toFixed(2)}%`,
      Number.isFinite(m.mde.worse) ? `${(Math.expm1(m.mde.worse) * 100).toFixed(2)}%` : 'n/a',
      m.verdict,
      m.severity ?? '-',
    ];
  });
  out.push('');
  out.push(
    table(['metric', 'baseline', 'candidate', 'change', 'CI (candidate/baseline - 1)', 'p (Mann-Whitney)', 'threshold', 'MDE', 'verdict', 'severity'], rows).trimEnd(),
  );
  out.push('');
  for (const m of c.metrics) {
    out.push(`${m.label}: ${m.verdict}${m.severity ? ` (${m.severity})` : ''}: ${m.reason}`);
    out.push(`  threshold: max(floor ${(Math.expm1(m.threshold.floor) * 100).toFixed(2)}%, ${m.threshold.k} x noise ${m.threshold.noise === null ? 'n/a' : `${(m.threshold.noise * 100).toFixed(2)}%`}) from ${m.threshold.noiseSource}`);
    out.push(`  ratio: ${m.ratio.method}; Welch t on logs (not gating): t = ${fmtNum(m.welch.t)}, df = ${fmtNum(m.welch.df)}, p = ${fmtNum(m.welch.p)}`);
    if (m.bootstrap) out.push(`  bootstrap (${m.bootstrap.method}): worse ${pct(Math.expm1(m.bootstrap.estimate))}, ${lvl(m.bootstrap.level)} CI [${pct(Math.expm1(m.bootstrap.lower))}, ${pct(Math.expm1(m.bootstrap.upper))}]`);
    if (m.mde.underpowered) out.push(`  underpowered: MDE ${(Math.expm1(m.mde.worse) * 100).toFixed(2)}% exceeds the threshold; need n >= ${m.mde.runsNeeded} runs per side`);
    if (m.slo) out.push(`  SLO ${m.slo.text}: ${m.slo.breached ? 'BREACHED with confidence' : 'not breached with confidence'} (bound ${formatValue(m.metric, m.slo.bound)})`);
  }
  if (c.tier) out.push(`network tier: ${c.tier.name ?? 'below 10 Mbit Ethernet'} (${c.tier.basis}: ${formatRate(c.tier.lowerBps)})`);
  out.push(`verdict: ${c.verdict}`);
  return out.join('\n') + '\n';
}
