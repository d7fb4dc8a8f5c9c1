// Side-by-side: the full descriptive summary of 10^6 round-trip samples (stoq-bench's `summarize`: mean, sd,
// sem, moe, median and percentiles with distribution-free intervals, MAD, IQR, outlier counts, Hodges-
// Lehmann, lag-1 autocorrelation, Theil-Sen drift) against numpy doing only sort + percentiles + mean + sd
// on the same data. Method: same samples on both sides (written once, read by both), outputs checked equal
// before timing, interleaved rounds (alternating which side goes first), median and IQR of each side, the
// per-round ratio (median and IQR), hardware stated. Target: ratio <= 3.
//
//   python3 -m venv /tmp/stats-venv && /tmp/stats-venv/bin/pip install numpy
//   STOQ_PYTHON=/tmp/stats-venv/bin/python node --import ./bench/register.js bench/stats-summary.ts [rounds]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRng, sortedOrderStatistics, summarize } from '../src/stats/index.js';

const N = 1_000_000;
const rounds = Number(process.argv[2] ?? 15);
const python = process.env.STOQ_PYTHON ?? 'python3';

// round-trip times in microseconds: lognormal around 51 us (the sockperf p50 on this host), 0.1 us clock
const rng = createRng(20261128);
const samples = new Float64Array(N);
for (let i = 0; i < N; i++) samples[i] = Math.round(51 * Math.exp(0.35 * rng.normal()) * 10) / 10;
const file = join(mkdtempSync(join(tmpdir(), 'stoq-bench-')), 'rtt.f64');
writeFileSync(file, Buffer.from(samples.buffer));

const worker = spawn(python, [fileURLToPath(new URL('./stats-summary.py', import.meta.url)), file], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: worker.stdout })[Symbol.asyncIterator]();
async function ask<T>(cmd: string): Promise<T> {
  worker.stdin.write(`${cmd}\n`);
  const next = await lines.next();
  if (next.done) throw new Error(`the numpy worker (${python}) exited; is numpy installed? set STOQ_PYTHON`);
  return JSON.parse(next.value) as T;
}

function stats(xs: number[]) {
  const o = sortedOrderStatistics(xs);
  return { median: o.median(), q1: o.quantile(0.25), q3: o.quantile(0.75) };
}

const info = await ask<{ numpy: string; python: string }>('info');
// outputs equal before timing
const ref = await ask<{ percentiles: number[]; mean: number; sd: number }>('check');
const mine = summarize(samples);
const keys = ['p50', 'p75', 'p90', 'p99', 'p999'] as const;
keys.forEach((k, i) => {
  const v = mine.percentiles[k].value as number;
  if (Math.abs(v - ref.percentiles[i]) > 1e-12 * Math.abs(ref.percentiles[i])) throw new Error(`${k}: ${v} != numpy ${ref.percentiles[i]}`);
});
for (const [name, a, b] of [['mean', mine.mean, ref.mean], ['sd', mine.sd, ref.sd]] as const) {
  if (Math.abs(a - b) > 1e-9 * Math.abs(b)) throw new Error(`${name}: ${a} != numpy ${b}`);
}

const js: number[] = [];
const np: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < rounds + 2; r++) {
  const timeJs = () => {
    const t = performance.now();
    summarize(samples);
    return performance.now() - t;
  };
  let a: number;
  let b: number;
  if (r % 2 === 0) {
    a = timeJs();
    b = (await ask<{ ms: number }>('time')).ms;
  } else {
    b = (await ask<{ ms: number }>('time')).ms;
    a = timeJs();
  }
  if (r < 2) continue; // warm-up rounds (JIT, page faults) on both sides
  js.push(a);
  np.push(b);
  ratios.push(a / b);
}
await ask('quit').catch(() => undefined);
worker.stdin.end();

const j = stats(js);
const p = stats(np);
const q = stats(ratios);
const cpu = cpus();
const f = (v: number) => v.toFixed(1);
console.log(`stats-summary: n = ${N} samples, ${rounds} interleaved rounds (+2 warm-up), outputs checked equal`);
console.log(`host: ${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, node ${process.version}, numpy ${info.numpy} (python ${info.python})`);
console.log(`summary computation: ${mine.conventions.computation}`);
console.log(`stoq-bench summarize (full summary)         median ${f(j.median)} ms  IQR [${f(j.q1)}, ${f(j.q3)}]`);
console.log(`numpy sort + percentiles + mean + sd         median ${f(p.median)} ms  IQR [${f(p.q1)}, ${f(p.q3)}]`);
console.log(`ratio (per round, stoq / numpy)              median ${q.median.toFixed(2)}  IQR [${q.q1.toFixed(2)}, ${q.q3.toFixed(2)}]  target <= 3: ${q.median <= 3 ? 'met' : 'NOT met'}`);
