// `stoq-bench report` end to end: run records (measured over [::1], small and bounded), a comparison with a
// real regression (compare --json) and a validation (validate --json) rendered as Markdown, JUnit XML and
// an offline HTML page that headless Chromium renders with its charts drawn.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/stats/rng.js';
import { cli } from './helpers.js';
import { fakeSession } from './stats/make-records.js';
import { withChartCheck } from './report/chart-check.js';
import { parseXml } from './report/parsers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-report-'));
const file = (name: string) => join(dir, name);

function writeJsonl(name: string, records: unknown[]): string {
  writeFileSync(file(name), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file(name);
}

const rng = createRng(77);
const base = writeJsonl('base.jsonl', fakeSession(rng, 'base', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 }));
const slow = writeJsonl('slow.jsonl', fakeSession(rng, 'slow', 6, { noise: 0.01, levelBps: 7.5e9, latencyUs: 60, latencySamples: 400 }));
const upload = file('upload.jsonl');
const latency = file('latency.jsonl');
const comparison = file('comparison.json');
const validation = file('validation.json');

beforeAll(async () => {
  const up = await cli(['run', '--scenario', 'upload', '--bytes', '8MiB', '--runs', '2', '--interval', '20ms', '--json', '--out', upload]);
  expect(up.code).toBe(0);
  const lat = await cli(['run', '--scenario', 'latency', '--count', '300', '--runs', '2', '--interval', '20ms', '--json', '--out', latency]);
  expect(lat.code).toBe(0);
  const cmp = await cli(['compare', '--baseline', base, '--candidate', slow, '--json']);
  expect(cmp.code).toBe(1); // a real regression: 9 -> 7.5 Gbit/s
  writeFileSync(comparison, cmp.stdout);
  const val = await cli(['validate', '--records', base, '--expect-goodput', '5Gbps', '--json']);
  const val2 = await cli(['validate', '--records', slow, '--expect-goodput', '8Gbps', '--json']);
  expect(val2.code).toBe(1);
  // one passing and one failing expectation in one validation file
  const a = JSON.parse(val.stdout);
  const b = JSON.parse(val2.stdout);
  writeFileSync(validation, JSON.stringify({ ...b, expectations: [...a.expectations, ...b.expectations] }));
});

describe('report --format markdown', () => {
  it('run records: per scenario, the across-run table and one row per run', async () => {
    const { code, stdout } = await cli(['report', upload, latency, '--title', 'Nightly']);
    expect(code).toBe(0);
    const md = stdout.replace(/\d+(\.\d+)?/g, 'N');
    expect(md).toMatch(/^# Nightly$/m);
    expect(md).toMatch(/^## Runs: .*upload\.jsonl$/m);
    expect(md).toMatch(/^### upload \(scenario `[0-9a-fN]+`\): N run\(s\), testbed `[0-9a-fN]+`$/m);
    expect(md).toMatch(/^\| metric \| median across runs \| N% interval \| runs \| method \|$/m);
    // two real runs: their interval (t on logs) can be unbounded, then it says n/a
    expect(md).toMatch(/^\| goodput \| N [kMGT]?bit\/s \| (\[N [kMGT]?bit\/s, N [kMGT]?bit\/s\]|n\/a) \| N \| median; interval: t on logs/m);
    expect(md).toMatch(/^\| run N \| completed \| N s \| N MiB \| N [kMGT]?bit\/s \|/m);
    expect(md).toMatch(/^### latency .*$/m);
    expect(md).toMatch(/^\| latency pN \| N us \|/m);
    expect(md).toMatch(/^\| requests\/s \|/m);
  });

  it('a comparison: verdict, gate, and one row per metric with intervals', async () => {
    const { code, stdout } = await cli(['report', comparison]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\*\*Verdict: Regression\*\* \(gate FAILED at Moderate\)$/m);
    expect(stdout).toMatch(/^- baseline: .*base\.jsonl: 6 runs$/m);
    expect(stdout).toMatch(/^\| goodput \| [\d.]+ Gbit\/s \[[\d.]+ Gbit\/s, [\d.]+ Gbit\/s\] \| 7\.\d+ Gbit\/s .* \| -1\d\.\d% \[-\d+\.\d%, -\d+\.\d%\] \| [\d.e-]+ \| Regression \| (Moderate|Severe) \|/m);
  });

  it('a validation: PASS/FAIL per expectation', async () => {
    const { code, stdout } = await cli(['report', validation]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\*\*FAIL\*\*: 1 of 2 expectation\(s\) met/m);
    expect(stdout).toMatch(/^\| goodput >= 8\.00 Gbit\/s \| 7\.\d+ Gbit\/s \| \[.+\] \| 7\.\d+ Gbit\/s \| \*\*FAIL\*\* \|/m);
  });
});

describe('report --format junit', () => {
  it('one test case per metric and expectation; regressions and unmet expectations are failures', async () => {
    const { code, stdout } = await cli(['report', comparison, validation, upload, '--format', 'junit']);
    expect(code).toBe(0);
    parseXml(stdout);
    const cmp = JSON.parse(readFileSync(comparison, 'utf8'));
    const suites = stdout.split('<testsuite ').slice(1);
    expect(suites).toHaveLength(3);
    const [c, v, u] = suites;
    expect(c.match(/<testcase /g)).toHaveLength(cmp.metrics.length);
    expect(c).toMatch(/<testcase classname="stoq-bench\.compare" name="goodput" time="0\.000">\s*<failure type="Regression:(Moderate|Severe)" message="Regression/);
    const regressions = cmp.metrics.filter((m: { verdict: string; severity: string | null }) => m.verdict === 'Regression' || m.severity === 'Critical').length;
    expect(c).toMatch(new RegExp(`failures="${regressions}"`));
    expect(v.match(/<testcase /g)).toHaveLength(2);
    expect(v).toMatch(/failures="1"/);
    expect(v).toMatch(/<testcase classname="stoq-bench\.validate" name="goodput &gt;= 8\.00 Gbit\/s" time="0\.000">\s*<failure type="ExpectationNotMet"/);
    expect(u).toMatch(/<testcase classname="stoq-bench\.runs\.upload" name="goodput"/);
    expect(u.match(/name="run \d completed"/g)).toHaveLength(2);
    expect(stdout).toMatch(/^<testsuites name="stoq-bench" tests="\d+" failures="\d+" errors="0" skipped="0"/m);
  });
});

const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);

function renderInChromium(htmlFile: string): string {
  if (!CHROMIUM) throw new Error('headless Chromium not found: run scripts/setup.sh (it installs the Debian package chromium)');
  const profile = mkdtempSync(join(tmpdir(), 'stoq-chromium-'));
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${htmlFile}`,
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('report --format html', () => {
  it('one self-contained page: nothing loaded from anywhere, written atomically with --out', async () => {
    const out = file('report.html');
    const { code, stdout, stderr } = await cli(['report', upload, latency, comparison, validation, '--format', 'html', '--out', out]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/wrote html report to .*report\.html/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    expect(html).not.toMatch(/\s(src|href)=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('headless Chromium draws every chart: throughput, latency CDF, cwnd, loss, baseline vs candidate', async () => {
    const out = file('rendered.html');
    expect((await cli(['report', upload, latency, comparison, validation, '--format', 'html', '--out', out])).code).toBe(0);
    // the page runs no script: the check that counts what the browser laid out is injected here
    const checked = file('rendered-checked.html');
    writeFileSync(checked, withChartCheck(readFileSync(out, 'utf8')));
    const dom = renderInChromium(checked);
    // the check ran in the browser: each chart counts the data paths that were laid out
    const charts = [...dom.matchAll(/<figure class="chart" data-chart="([^"]+)" data-drawn="(\d+)" data-marks="(\d+)">/g)].map((m) => ({
      id: m[1],
      drawn: Number(m[2]),
      marks: Number(m[3]),
    }));
    expect(charts.length).toBeGreaterThanOrEqual(15);
    const drawn = (suffix: string) => charts.filter((c) => c.id.endsWith(suffix));
    expect(drawn('-throughput')).toHaveLength(2); // upload and latency groups
    for (const c of drawn('-throughput')) expect(c.drawn).toBe(2); // one path per run
    expect(drawn('-cdf').map((c) => c.drawn)).toEqual([2]);
    for (const c of [...drawn('-cwnd'), ...drawn('-loss'), ...drawn('-rtt')]) expect(c.drawn).toBeGreaterThanOrEqual(1);
    expect(drawn('-ratio')).toHaveLength(1);
    const cmp = JSON.parse(readFileSync(comparison, 'utf8'));
    expect(drawn('-ratio')[0].drawn).toBe(cmp.metrics.length);
    expect(drawn('-goodput')[0].drawn).toBe(2); // baseline and candidate intervals
    expect(drawn('-ratio')[0].marks).toBe(cmp.metrics.length);
    // every chart shows data: lines or whiskers, or at least its centre marks
    expect(charts.every((c) => c.drawn + c.marks > 0), JSON.stringify(charts.filter((c) => c.drawn + c.marks === 0))).toBe(true);
    const total = Number(/<html lang="en" data-charts-drawn="(\d+)"/.exec(dom)?.[1]);
    expect(total).toBe(charts.length);
    // the data are in the paths: the CDF of 300 samples per run, thinned to at most 400 points
    const cdfPaths = [...dom.matchAll(/<path class="series" data-series="run \d" data-points="(\d+)"[^>]* d="([^"]+)"/g)];
    const points = cdfPaths.map((m) => Number(m[1]));
    expect(points).toContain(300);
    for (const m of cdfPaths) expect(m[2].split(/[ML]/).filter(Boolean)).toHaveLength(Number(m[1]));
  }, 90_000);
});

describe('report: usage errors exit 2, nothing written', () => {
  it.each([
    [['report', file('missing.jsonl')], /missing\.jsonl: cannot read \(no such file\)/],
    [['report', '--format', 'pdf', upload], /Invalid values:[\s\S]*format/],
    [['report', upload, '--level', '2'], /--level must be between 0 and 1/],
    [['report'], /Not enough non-option arguments/],
    [['report', upload, '--bogus'], /Unknown argument/],
  ])('%j', async (args, message) => {
    const out = file(`never-${Math.random().toString(36).slice(2)}.html`);
    const { code, stderr, stdout } = await cli([...(args as string[]), '--out', out]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message as RegExp);
    expect(stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('bad contents name the file (and the line); a valid file before it does not get a report written', async () => {
    const numbers = file('numbers.json');
    writeFileSync(numbers, '[1, 2, 3]');
    const garbage = file('garbage.jsonl');
    writeFileSync(garbage, `${readFileSync(base, 'utf8').split('\n')[0]}\nnot json\n`);
    const badComparison = file('bad-comparison.json');
    writeFileSync(badComparison, JSON.stringify({ verdict: 'Regression', metrics: [{ metric: 'goodput' }] }));
    for (const [input, message] of [
      [numbers, /numbers\.json: a JSON array of numbers, not run records, a comparison or a validation/],
      [garbage, /garbage\.jsonl:2: not valid JSON/],
      [badComparison, /bad-comparison\.json: metrics\[0\] is not a metric comparison/],
    ] as const) {
      const out = file('never.md');
      const { code, stderr } = await cli(['report', upload, input, '--out', out]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('an --out in a missing directory is named', async () => {
    const { code, stderr } = await cli(['report', upload, '--out', join(dir, 'no', 'such', 'dir', 'r.md')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--out .*r\.md: cannot write \(no such directory\)/);
  });
});
