// `stoq-bench validate` end to end: expectations pass only on the confidence bound, measured over [::1]
// (small, bounded runs) or read from --records; exit 1 on any FAIL, 2 on usage errors with nothing written.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/stats/rng.js';
import { main } from '../src/cli/main.js';
import { cli } from './helpers.js';
import { fakeRecord, fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-validate-'));

function writeJsonl(name: string, records: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

const rng = createRng(404);
// six runs at about 9 Gbit/s with little noise between them
const steady = writeJsonl('steady.jsonl', fakeSession(rng, 'steady', 6, { noise: 0.01 }));
// three runs whose levels spread widely (6, 9, 12 Gbit/s): the median clears 8 Gbit/s, its lower bound does not
const spread = writeJsonl(
  'spread.jsonl',
  [6e9, 9e9, 12e9].map((levelBps, run) => fakeRecord(rng, { session: 'spread', run, runs: 3, levelBps, noise: 0.01 })),
);
const latency = writeJsonl('latency.jsonl', fakeSession(rng, 'lat', 5, { kind: 'latency', scenarioId: 'scn-lat', latencyUs: 60, latencySamples: 500 }));
const single = writeJsonl('single.jsonl', [fakeRecord(rng, { session: 'one', noise: 0.01, intervals: 30 })]);
const errored = writeJsonl('errored.jsonl', [
  ...fakeSession(rng, 'err', 3, { noise: 0.01 }),
  fakeRecord(rng, { session: 'err', run: 3, runs: 4, state: 'errored' }),
]);

/** Text output with figures replaced, for stable comparisons. */
const normalise = (s: string) => s.replace(/\d+(\.\d+)?/g, 'N');

describe('stoq-bench validate --records', () => {
  it('passes when the lower bound clears the expectation; prints interval, level and PASS', async () => {
    const { code, stdout } = await cli(['validate', '--records', steady, '--expect-goodput', '5Gbps', '--no-json']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^validate records .*steady\.jsonl \(6 runs\): 1 expectation\(s\), 95% two-sided intervals \(each bound one-sided 97\.5%\)$/m);
    expect(normalise(stdout)).toMatch(/^goodput >= N Gbit\/s +N Gbit\/s +\[N Gbit\/s, N Gbit\/s\] +N% +N Gbit\/s +PASS$/m);
    expect(stdout).toMatch(/^PASS goodput >= 5\.00 Gbit\/s: the lower bound [\d.]+ Gbit\/s clears 5\.00 Gbit\/s/m);
    expect(stdout).toMatch(/across 6 runs: median, order-statistic interval \(coverage/);
    expect(stdout).toMatch(/^result: PASS \(1 of 1 expectations met\)$/m);
  });

  it('fails on the bound even when the point estimate clears it (exit 1)', async () => {
    const { code, stdout } = await cli(['validate', '--records', spread, '--expect-goodput', '8Gbps', '--json']);
    expect(code).toBe(1);
    const v = JSON.parse(stdout);
    expect(v.kind).toBe('stoq-bench.validation');
    expect(v.passed).toBe(false);
    const [e] = v.expectations;
    expect(e.flag).toBe('--expect-goodput');
    expect(e.measured.centre).toBeGreaterThan(8e9);
    expect(e.bound).toBe(e.measured.lower);
    expect(e.bound).toBeLessThan(8e9);
    expect(e.verdict).toBe('FAIL');
    expect(e.reason).toMatch(/the point estimate does, but not with confidence/);
    expect(e.measured.level).toBe(0.95);
  });

  it('latency expectations check the upper bound; rates the lower bound; --level is printed', async () => {
    const ok = await cli(['validate', '--records', latency, '--expect-p99-rtt', '2ms', '--expect-p50-rtt', '1ms', '--level', '0.8', '--json']);
    expect(ok.code).toBe(0);
    const v = JSON.parse(ok.stdout);
    expect(v.level).toBe(0.8);
    for (const e of v.expectations) {
      expect(e.op).toBe('<=');
      expect(e.bound).toBe(e.measured.upper);
      expect(e.verdict).toBe('PASS');
    }
    const tight = await cli(['validate', '--records', latency, '--expect-p99-rtt', '20us', '--no-json']);
    expect(tight.code).toBe(1);
    expect(tight.stdout).toMatch(/^FAIL p99 round trip <= 20\.0 us: the upper bound [\d.]+ [um]s does not clear 20\.0 us/m);
    expect(tight.stdout).toMatch(/^result: FAIL \(1 of 1 expectations not met\)$/m);
  });

  it('a single run is bounded by its own within-run interval', async () => {
    const { code, stdout } = await cli(['validate', '--records', single, '--expect-goodput', '1Gbps', '--json']);
    expect(code).toBe(0);
    const [e] = JSON.parse(stdout).expectations;
    expect(e.measured.method).toMatch(/^a single run: within-run .*bootstrap/);
    expect(e.measured.lower).toBeLessThan(e.measured.centre);
  });

  it('colours PASS and FAIL only when colour is allowed (a TTY without NO_COLOR)', async () => {
    let out = '';
    const io = { stdout: (t: string) => void (out += t), stderr: () => {}, isTTY: true, color: true, signal: new AbortController().signal };
    expect(await main(['validate', '--records', steady, '--expect-goodput', '5Gbps'], io)).toBe(0);
    expect(out).toContain('\x1b[32mPASS\x1b[0m goodput');
    const plain = await cli(['validate', '--records', steady, '--expect-goodput', '5Gbps', '--no-json']);
    expect(plain.stdout).not.toContain('\x1b[');
  });

  it('runs that did not complete fail the expectation', async () => {
    const { code, stdout } = await cli(['validate', '--records', errored, '--expect-goodput', '1Gbps', '--no-json']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL goodput >= 1\.00 Gbit\/s: 1 of 4 run\(s\) did not complete: run 3 errored/);
  });
});

describe('stoq-bench validate, measured over [::1]', () => {
  it('measures --runs runs and passes loose expectations; --out keeps the records', async () => {
    const out = join(dir, 'measured.jsonl');
    const { code, stdout } = await cli([
      'validate', '--scenario', 'latency', '--count', '400', '--runs', '3', '--interval', '50ms',
      '--expect-p99-rtt', '10s', '--expect-requests', '10/s', '--out', out, '--no-json',
    ]);
    expect(code).toBe(0);
    expect(stdout.match(/^latency run \d\/3: completed, p50 .+ requests\/s$/gm)).toHaveLength(3);
    expect(stdout).toMatch(/^PASS p99 round trip <= 10\.00 s: the upper bound/m);
    expect(stdout).toMatch(/^PASS requests >= 10\/s: the lower bound/m);
    expect(stdout).toMatch(/across 3 runs: median; interval: t on logs/);
    const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(3);
    expect(new Set(records.map((r) => r.session.id)).size).toBe(1);
  });

  it('each expectation gets the scenario it needs when --scenario is not given; an impossible one fails (exit 1)', async () => {
    const { code, stdout } = await cli([
      'validate', '--bytes', '2MiB', '--count', '5', '--runs', '3', '--interval', '50ms',
      '--expect-goodput', '10Tbps', '--expect-handshakes', '0.01/s', '--json',
    ]);
    expect(code).toBe(1);
    const v = JSON.parse(stdout);
    expect(v.source).toMatch(/^download \+ handshakes against an embedded server on \[::1\], 3 run\(s\) each$/);
    const [goodput, handshakes] = v.expectations;
    expect(goodput.scenario.kind).toBe('download');
    expect(goodput.runs).toEqual({ total: 3, completed: 3, unsteady: expect.any(Number) });
    expect(goodput.verdict).toBe('FAIL');
    expect(goodput.bound).toBeLessThan(10e12);
    expect(handshakes.scenario.kind).toBe('handshakes');
    expect(handshakes.verdict).toBe('PASS');
    expect(handshakes.bound).toBeGreaterThan(0.01);
  });
});

describe('stoq-bench validate: usage errors exit 2, nothing measured or written', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /give at least one expectation: --expect-goodput, --expect-p50-rtt, --expect-p99-rtt, --expect-requests, --expect-handshakes/],
    [['--expect-goodput', '1Gbpx'], /--expect-goodput: invalid rate "1Gbpx"/],
    [['--expect-goodput', '0bps'], /--expect-goodput: must be greater than 0/],
    [['--expect-p99-rtt', '2 fortnights'], /--expect-p99-rtt: invalid duration/],
    [['--expect-handshakes', 'lots'], /--expect-handshakes: invalid rate "lots" \(expected e\.g\. 1000\/s/],
    [['--expect-goodput', '1Gbps', '--scenario', 'latency'], /--expect-goodput needs a download or upload or bidir scenario, not --scenario latency/],
    [['--expect-goodput', '1Gbps', '--count', '5'], /--count applies to requests, latency and handshakes; these expectations measure download/],
    [['--expect-p99-rtt', '1ms', '--bytes', '1MiB'], /--bytes applies to download, upload and bidir; these expectations measure latency/],
    [['--expect-goodput', '1Gbps', '--bytes', '1MiB', '--duration', '1s'], /give one of --bytes, --duration or --count/],
    [['--expect-goodput', '1Gbps', '--level', '1.5'], /--level must be between 0 and 1/],
    [['--expect-goodput', '1Gbps', '--connections', '0'], /--connections: expected a whole number from 1/],
    [['--expect-goodput', '1Gbps', '--records', 'x.jsonl', '--bytes', '1MiB'], /--records validates existing records: --bytes describe a measurement/],
    [['--expect-goodput', '1Gbps', '--expect-goodput', '2Gbps'], /--expect-goodput: given 2 times/],
    [['--expect-goodput', '1Gbps', '--bogus'], /Unknown argument/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' ') || '(no expectation)', async () => {
      const out = join(dir, `never-${Math.random().toString(36).slice(2)}.jsonl`);
      const withOut = args.includes('--records') ? args : [...args, '--out', out];
      const { code, stderr, stdout } = await cli(['validate', ...withOut, '--no-json']);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a missing --records file is named', async () => {
    const { code, stderr, stdout } = await cli(['validate', '--records', join(dir, 'nope.jsonl'), '--expect-goodput', '1Gbps', '--no-json']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/nope\.jsonl: cannot read \(no such file\)/);
    expect(stdout).toBe('');
  });

  it('records that cannot measure an expectation are named with what they hold', async () => {
    const { code, stderr } = await cli(['validate', '--records', latency, '--expect-goodput', '1Gbps']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/latency\.jsonl: no record measures what --expect-goodput expects \(it needs a download or upload or bidir scenario\); the records hold latency/);
  });

  it('a malformed record file names the line', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(steady, 'utf8').split('\n')[0]}\n{not json\n`);
    const { code, stderr } = await cli(['validate', '--records', bad, '--expect-goodput', '1Gbps']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/bad\.jsonl:2: not valid JSON/);
  });
});

describe('stoq-bench validate never passes what it cannot judge', () => {
  it('the issue: --scenario latency --count 5 --runs 5 --expect-p99-rtt 50ms is INVALID (exit 4), never PASS', async () => {
    const { code, stdout } = await cli(['validate', '--scenario', 'latency', '--count', '5', '--runs', '5', '--expect-p99-rtt', '50ms', '--no-json']);
    expect(stdout).toMatch(/^INVALID p99 round trip <= 50\.00 ms: p99 round trip not determined: 5 run\(s\) \(run 0, run 1, run 2, run 3, run 4\): 5 latency sample\(s\) in the run cannot bound p99 at 95% \(needs n >= 368\); give each run --count 368 or more/m);
    expect(stdout).toMatch(/^result: INVALID \(1 of 1 expectations could not be judged\)$/m);
    expect(stdout).not.toMatch(/PASS/);
    expect(code).toBe(4);
  });

  it('--allow-invalid lets a result that could not be judged exit 0; a FAIL still exits 1', async () => {
    const few = writeJsonl('few.jsonl', fakeSession(rng, 'few', 3, { kind: 'latency', scenarioId: 'scn-lat', latencyUs: 60, latencySamples: 5 }));
    expect((await cli(['validate', '--records', few, '--expect-p99-rtt', '50ms'])).code).toBe(4);
    expect((await cli(['validate', '--records', few, '--expect-p99-rtt', '50ms', '--allow-invalid'])).code).toBe(0);
    // the smallest of 5 samples already bounds p99 from below: 1 us is not met, whatever the rest
    const fail = await cli(['validate', '--records', few, '--expect-p99-rtt', '1us', '--allow-invalid', '--no-json']);
    expect(fail.stdout).toMatch(/^FAIL p99 round trip <= 1\.0 us: the lower bound [\d.]+ [um]s already lies beyond 1\.0 us/m);
    expect(fail.code).toBe(1);
  });

  it('runs that moved nothing fail, named; they are never dropped', async () => {
    const zeros = writeJsonl('zeros.jsonl', [
      ...fakeSession(rng, 'zero', 2, { noise: 0.01 }),
      fakeRecord(rng, { session: 'zero', run: 2, runs: 5, levelBps: 0 }),
      fakeRecord(rng, { session: 'zero', run: 3, runs: 5, levelBps: 0 }),
    ]);
    const { code, stdout } = await cli(['validate', '--records', zeros, '--expect-goodput', '1Gbps', '--no-json']);
    expect(stdout).toMatch(/^FAIL goodput >= 1\.00 Gbit\/s: 2 of 4 run\(s\) measured 0 goodput: run 2, run 3/m);
    expect(code).toBe(1);
  });

  it('one run without a within-run interval is INVALID, not a pass', async () => {
    const short = writeJsonl('short.jsonl', [fakeRecord(rng, { session: 'short', intervals: 2, warmup: 0 })]);
    const { code, stdout } = await cli(['validate', '--records', short, '--expect-goodput', '1Gbps', '--no-json']);
    expect(stdout).toMatch(/^INVALID goodput >= 1\.00 Gbit\/s: cannot bound goodput at 95%: a single run without a within-run interval/m);
    expect(code).toBe(4);
  });

  it('runs from another testbed than the majority are set aside and named', async () => {
    const mixed = writeJsonl('mixed.jsonl', [...fakeSession(rng, 'major', 6, { noise: 0.01 }), ...fakeSession(rng, 'minor', 2, { noise: 0.01, fingerprint: 'tb-other', levelBps: 1e9 })]);
    const { code, stdout } = await cli(['validate', '--records', mixed, '--expect-goodput', '5Gbps', '--json']);
    const [e] = JSON.parse(stdout).expectations;
    expect(e.runs.total).toBe(6);
    expect(e.reason).toMatch(/set aside, not pooled: 2 run\(s\) from testbed tb-other/);
    expect(code).toBe(0);
  });

  it('impossible values are refused when records are read, naming file and line (exit 2)', async () => {
    const good = fakeRecord(rng, { session: 'neg' });
    const negative = { ...good, session: { ...good.session, run: 1 }, end: { ...good.end, goodputBps: -7.33e9 } };
    const file = writeJsonl('negative.jsonl', [good, negative]);
    const r = await cli(['validate', '--records', file, '--expect-goodput', '1Gbps', '--no-json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/negative\.jsonl:2: end\.goodputBps is -7330000000: impossible \(must be a finite number >= 0\)/);
    const badLatency = writeJsonl('bad-latency.jsonl', [good, { ...good, samples: { latencyUs: [50, -3] } }]);
    expect((await cli(['stats', badLatency])).stderr).toMatch(/bad-latency\.jsonl:2: samples\.latencyUs\[1\] is -3: impossible/);
    const backwards = writeJsonl('backwards.jsonl', [good, { ...good, intervals: [{ ...good.intervals[0], startS: 2, endS: 1 }] }]);
    expect((await cli(['stats', backwards])).stderr).toMatch(/backwards\.jsonl:2: intervals\[0\] ends \(endS 1\) before it starts \(startS 2\): impossible/);
    const negativeDuration = join(dir, 'negative-duration.jsonl');
    writeFileSync(negativeDuration, `${JSON.stringify(good)}\n${JSON.stringify(good).replace(/"durationS":[\d.e+-]+/, '"durationS":-1')}\n`);
    expect((await cli(['compare', '--baseline', negativeDuration, '--candidate', steady])).stderr).toMatch(/negative-duration\.jsonl:2: end\.durationS is -1: impossible/);
    // 1e999 parses as Infinity: not a measurement either
    const infinite = join(dir, 'infinite.jsonl');
    writeFileSync(infinite, `${JSON.stringify(good)}\n${JSON.stringify(good).replace(/"bytesReceived":[\d.e+-]+/, '"bytesReceived":1e999')}\n`);
    expect((await cli(['stats', infinite])).stderr).toMatch(/infinite\.jsonl:2: intervals\[0\]\.bytesReceived is Infinity: impossible/);
  });
});
