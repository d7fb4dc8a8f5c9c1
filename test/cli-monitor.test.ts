// `stoq-bench monitor` end to end against servers started here on [::1]: health and alerts (stdout, file,
// a webhook served by node:http on [::1]), a target that goes away and comes back on the same port, SLOs,
// the history store, the Prometheus endpoint (and a real Prometheus server scraping it when installed),
// usage errors. Every wait is bounded; nothing asserts on speed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { HistoryStore } from '../src/history/index.js';
import { evaluateHealth } from '../src/monitor/health.js';
import { parseMonitorSlo } from '../src/cli/commands/monitor.js';
import { CLI, cli } from './helpers.js';
import { createRng } from '../src/stats/rng.js';
import { fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-monitor-'));
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
});

/** `stoq-bench server` on `listen`, resolved once it reports its address (readiness by signal). */
async function server(listen = '[::1]:0'): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [CLI, 'server', '--listen', listen, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const rl = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server not ready within 10 s')), 10_000);
    rl.on('line', (line) => {
      const e = JSON.parse(line) as { event: string; address?: string };
      if (e.event === 'listening') {
        clearTimeout(t);
        resolve(e.address!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, address };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
}

/** The monitor in-process (with --json) with its stdout as JSON events that a test can wait for. */
function startMonitor(args: string[], tty = { isTTY: false, color: false }) {
  const events: Array<Record<string, any>> = [];
  let stderr = '';
  let buffer = '';
  const waiters: Array<() => void> = [];
  const controller = new AbortController();
  const io: Io = {
    stdout: (t) => {
      buffer += t;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
      for (const w of waiters.splice(0)) w();
    },
    stderr: (t) => void (stderr += t),
    ...tty,
    signal: controller.signal,
  };
  const done = main(['monitor', '--json', ...args], io);
  const waitFor = async (what: string, pred: (e: Record<string, any>) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}; stderr: ${stderr}`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200)), done]);
    }
  };
  /** Waits for a condition on anything (bounded; polled every 100 ms). */
  const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { events, waitFor, until, stop: () => controller.abort(), done, stderr: () => stderr };
}

async function freePort(host: string): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const body = async (req: IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
};

describe('stoq-bench monitor', () => {
  it('goes Critical when the target goes away, keeps probing, recovers when it returns; alerts everywhere', async () => {
    const first = await server();
    const port = first.address.replace(/^.*:/, '');
    const hooks: Array<Record<string, any>> = [];
    const hook = createServer(async (req, res) => {
      hooks.push({ method: req.method, type: req.headers['content-type'], ...JSON.parse(await body(req)) });
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => hook.listen(0, '::1', r));
    const history = join(dir, 'history-1.db');
    const alertsCopy = join(dir, 'never-written.jsonl');
    const m = startMonitor([
      '--target', first.address, '--interval', '100ms', '--probe-count', '5', '--probe-timeout', '400ms',
      '--burst-every', '500ms', '--burst-duration', '100ms', '--window', '5s', '--duration', '60s',
      '--history', history, '--metrics', '[::1]:0', '--webhook', `http://[::1]:${(hook.address() as AddressInfo).port}/alerts`,
    ]);
    let metricsText = '';
    const scrape = async (): Promise<string> => {
      const started = m.events.find((e) => e.event === 'started')!;
      const res = await fetch(`http://${started.metricsAddress}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      metricsText = await res.text();
      return metricsText;
    };
    const failed = (text: string) => Number(/probes_total\{result="failed"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    try {
      const started = await m.waitFor('started event', (e) => e.event === 'started');
      expect(started.metricsAddress).toMatch(/^\[::1\]:\d+$/);
      await m.waitFor('Healthy', (e) => e.event === 'alert' && e.to === 'Healthy');
      await m.until('a burst', async () => /stoq_bench_monitor_bursts_total\{result="ok"[^}]*\} [1-9]/.test(await scrape()));
      await stopChild(first.child);
      const critical = await m.waitFor('Critical', (e) => e.event === 'alert' && e.to === 'Critical');
      expect(critical.from).toBe('Healthy');
      expect(critical.reason).toMatch(/(probe|burst) failed: (TIMEOUT|PEER|IO|QUIC)/);
      // the probes go on while the target is away
      const failedBefore = failed(await scrape());
      await m.until('more failed probes', async () => failed(await scrape()) > failedBefore);
      expect(metricsText).toMatch(/stoq_bench_monitor_health\{target="[^"]+"\} 2/);
      expect(metricsText).toMatch(/stoq_bench_monitor_target_up\{target="[^"]+"\} 0/);
      await server(`[::1]:${port}`); // back on the same port
      const back = await m.waitFor('recovery', (e) => e.event === 'alert' && e.from === 'Critical' && e.to === 'Healthy');
      expect(back.reason).toBe('every check passes');
      await scrape();
      expect(metricsText).toMatch(/stoq_bench_monitor_target_up\{target="[^"]+"\} 1/);
      expect(metricsText).toMatch(/stoq_bench_monitor_rtt_seconds_count\{target="[^"]+"\} [1-9]/);
      expect(metricsText).toMatch(/stoq_bench_monitor_rtt_window_seconds\{quantile="0.99",target="[^"]+"\} [\d.e-]+/);
      m.stop();
      expect(await m.done).toBe(0);
      const stopped = m.events.at(-1)!;
      expect(stopped.event).toBe('stopped');
      expect(stopped.probes.failed).toBeGreaterThanOrEqual(1);
      expect(stopped.probes.ok).toBeGreaterThanOrEqual(2);
      expect(stopped.state).toBe('Healthy');

      // the webhook got every alert, in order, as JSON POSTs
      const alerts = m.events.filter((e) => e.event === 'alert');
      expect(alerts.map((a) => [a.from, a.to])).toEqual([[null, 'Healthy'], ['Healthy', 'Critical'], ['Critical', 'Healthy']]);
      expect(hooks.map((h) => [h.method, h.type, h.from, h.to])).toEqual(alerts.map((a) => ['POST', 'application/json', a.from, a.to]));
      // every measurement is in the history: probes (latency) and bursts (download), failed ones included
      const store = HistoryStore.open(history, { readonly: true });
      const kinds = store.sessions().map((s) => s.scenarioKind).sort();
      const runs = store.counts().runs;
      store.close();
      expect(kinds).toEqual(['download', 'latency']);
      expect(runs).toBeGreaterThanOrEqual(stopped.probes.ok + stopped.bursts.ok);
      expect(existsSync(alertsCopy)).toBe(false);
    } finally {
      m.stop();
      await m.done;
      hook.close();
    }

  });

  it('SLOs: breached with confidence is Critical, a goodput SLO degrades then breaches; alerts to --alerts FILE', async () => {
    const { address } = await server();
    const alertsFile = join(dir, 'alerts.jsonl');
    const common = ['--target', address, '--interval', '100ms', '--history', join(dir, 'history-2.db'), '--alerts', alertsFile];
    const rtt = startMonitor([...common, '--probe-count', '10', '--burst-every', '0', '--duration', '1s', '--slo', 'p50-rtt<=1us']);
    expect(await rtt.done).toBe(1); // it ended Critical
    expect(rtt.events.map((e) => e.event)).toEqual(['started', 'stopped']); // the alerts went to the file
    const first = readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ event: 'alert', from: null, to: 'Critical' });
    expect(first[0].reason).toMatch(/^SLO p50-rtt<=1us breached with confidence: RTT p50 [\d.]+ [um]s, 95% interval \[[\d.]+ [um]s, [\d.]+ [um]s\] \(n=\d+\)$/);

    const bursts = startMonitor([...common, '--probe-count', '5', '--burst-every', '200ms', '--burst-duration', '100ms', '--duration', '2500ms', '--slo', 'goodput>=1000Tbps', '--slo', 'p99-rtt<=10s']);
    expect(await bursts.done).toBe(1);
    const alerts = readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).slice(1);
    expect(alerts.map((a) => a.to)).toEqual(['Healthy', 'Degraded', 'Critical']);
    expect(alerts[1].reason).toMatch(/^SLO goodput>=1000Tbps missed by the last burst \([\d.]+ [GMk]?bit\/s; 1 of 1 in the window\)$/);
    expect(alerts[2].reason).toMatch(/^SLO goodput>=1000Tbps breached: all [3-9]\d* bursts in the window missed it/);
    const stopped = bursts.events.at(-1)!;
    expect(stopped).toMatchObject({ event: 'stopped', state: 'Critical' });
    expect(stopped.reasons[0]).toMatch(/^SLO goodput>=1000Tbps breached/);
  });

  it('a named baseline: a window worse than it with confidence is Degraded, with the reason', async () => {
    const { address } = await server();
    const history = join(dir, 'history-baseline.db');
    const store = HistoryStore.open(history);
    // a baseline of latency runs whose round trips took about 1 us: no real probe gets near that
    store.saveBaseline('fast', fakeSession(createRng(3), 'fast', 3, { kind: 'latency', scenarioId: 'scn-lat', latencyUs: 1, latencySamples: 200 }));
    store.close();
    // made on another testbed (the fake records' 'tb-1'): refused unless asked for
    const refused = await cli(['monitor', '--target', address, '--history', history, '--baseline', 'fast']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--baseline "fast" was measured on testbed tb-1, this one is \w+ .*--allow-testbed-mismatch/);
    const m = startMonitor(['--target', address, '--interval', '100ms', '--probe-count', '10', '--burst-every', '0', '--duration', '1s', '--history', history, '--baseline', 'fast', '--allow-testbed-mismatch']);
    expect(await m.done).toBe(1); // it ended Degraded
    const started = m.events[0];
    expect(started.baseline.name).toBe('fast');
    expect(started.baseline.p50Us).toBeGreaterThan(0.5);
    expect(started.baseline.p50Us).toBeLessThan(2);
    const alerts = m.events.filter((e) => e.event === 'alert');
    expect(alerts.at(-1)!.to).toBe('Degraded');
    expect(alerts.at(-1)!.reason).toMatch(/^RTT p50 [\d.]+ [um]s \(95% interval from [\d.]+ [um]s\) is worse than baseline "fast" [\d.]+ (ns|us) by more than 25%$/);
  });

  it('on a terminal: a live status line on stderr (redrawn with \\r, coloured only when allowed); stdout stays JSON with --json', async () => {
    const { address } = await server();
    for (const color of [false, true]) {
      const m = startMonitor(['--target', address, '--interval', '100ms', '--probe-count', '5', '--burst-every', '0', '--duration', '600ms', '--history', join(dir, 'history-tty.db')], { isTTY: true, color });
      expect(await m.done).toBe(0);
      expect(m.events.map((e) => e.event)).toEqual(['started', 'alert', 'stopped']);
      const frames = m.stderr().split('\r').map((f) => f.trim()).filter(Boolean);
      expect(frames.length).toBeGreaterThanOrEqual(2);
      // eslint-disable-next-line no-control-regex -- the ANSI colour codes are what is stripped
      for (const f of frames) expect(f.replace(/\x1b\[\d+m/g, '')).toMatch(/^Healthy: RTT p50 [\d.]+ [um]s p99 [\d.]+ [um]?s \(n=\d+\)$/);
      expect(m.stderr().includes('\x1b[')).toBe(color);
      expect(m.stderr()).toMatch(/\r +\r$/); // erased at the end
    }
  });

  it('without --json: text a person reads (a line when it starts, alerts that stand out, a line when it stops)', async () => {
    const { address } = await server();
    for (const color of [false, true]) {
      let out = '';
      let err = '';
      const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTTY: true, color, signal: new AbortController().signal };
      const args = ['monitor', '--target', address, '--interval', '100ms', '--probe-count', '5', '--burst-every', '0', '--duration', '600ms', '--history', join(dir, 'history-text.db'), '--slo', 'p50-rtt<=1us'];
      expect(await main(args, io)).toBe(1); // it ends Critical: no round trip takes 1 us
      // eslint-disable-next-line no-control-regex -- the ANSI colour codes are what is stripped
      const plain = out.replace(/\x1b\[[\d;]+m/g, '');
      const lines = plain.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^monitoring \[::1\]:\d+: 5 round trips every 0\.1 s, no throughput bursts; window 60 s; SLOs p50-rtt<=1us; baseline none; history .*history-text\.db$/);
      const alerts = lines.filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ /.test(l));
      expect(alerts.length).toBeGreaterThanOrEqual(1);
      for (const a of alerts) expect(a).toMatch(/Z ALERT (Degraded|Critical)( \(was Degraded\))?: SLO p50-rtt<=1us (possibly missed|missed|breached)/);
      expect(lines[lines.indexOf(alerts[0]) + 1]).toMatch(/^ {4}(also: .*|window: RTT p50 [\d.]+ [um]?s, p99 ([\d.]+ [um]?s|-) \(n=\d+\); 0 burst\(s\))$/);
      expect(lines.at(-1)).toMatch(new RegExp(`^stopped after 0\\.\\d+ s: Critical \\(SLO p50-rtt<=1us breached .*\\); probes \\d+ ok, 0 failed; bursts 0 ok, 0 failed; ${alerts.length} alert\\(s\\); \\d+ tick\\(s\\) skipped$`));
      expect(out).not.toContain('{');
      // an alert stands out: bold, in its state's colour, on a colour terminal
      // eslint-disable-next-line no-control-regex -- the ANSI colour codes are what is looked for
      expect(/\x1b\[1;3[13]mALERT (Critical|Degraded)\x1b\[0m/.test(out)).toBe(color);
      // the live status line was erased before the alert was printed, and at the end
      expect(err).toMatch(/\r +\r$/);
    }
  });

  it('health rules: a percentile too poorly sampled to bound can only degrade; a baseline margin with confidence', () => {
    const slo = parseMonitorSlo('p99-rtt<=2ms');
    expect(slo).toMatchObject({ metric: 'latencyP99', op: '<=', limit: 2000, text: 'p99-rtt<=2ms' });
    const rtt = { n: 50, percentiles: { p50: { value: 100, interval: { lower: 90, upper: 110, level: 0.95 } }, p99: { value: null, interval: null, reason: 'n = 50 is too small' } } } as never;
    const h = evaluateHealth({ lastProbe: { ok: true }, rtt, rttPoints: { p50: 100, p99: 3000 }, goodputs: [], slos: [slo], margin: 0.25 });
    expect(h.state).toBe('Degraded');
    expect(h.reasons[0]).toMatch(/possibly missed: RTT p99 estimate 3\.00 ms, not yet bounded \(n = 50 is too small\)/);
    const b = evaluateHealth({ lastProbe: { ok: true }, rtt, rttPoints: { p50: 100, p99: 300 }, goodputs: [], slos: [], baseline: { name: 'b', p50Us: 60 }, margin: 0.25 });
    expect(b.state).toBe('Degraded');
    expect(b.reasons[0]).toMatch(/worse than baseline "b"/);
    const ok = evaluateHealth({ lastProbe: { ok: true }, rtt, rttPoints: { p50: 100, p99: 300 }, goodputs: [], slos: [], baseline: { name: 'b', p50Us: 80 }, margin: 0.25 });
    expect(ok).toEqual({ state: 'Healthy', reasons: [] });
    const down = evaluateHealth({ lastProbe: { ok: false, reason: 'TIMEOUT: x' }, rtt: undefined, goodputs: [], slos: [slo], margin: 0.25 });
    expect(down).toEqual({ state: 'Critical', reasons: ['probe failed: TIMEOUT: x'] });
  });

  it('usage errors name the flag, exit 2 and write nothing', async () => {
    const alerts = join(dir, 'usage-alerts.jsonl');
    const history = join(dir, 'usage-history.db');
    const cases: Array<[string[], RegExp]> = [
      [[], /Missing required argument: target/],
      [['--target', 'nowhere'], /--target: "nowhere": no port/],
      [['--target', '[::1]:1', '--slo', 'p99-rtt<=2parsecs'], /--slo: invalid duration/],
      [['--target', '[::1]:1', '--slo', 'rps>=10'], /--slo "rps>=10": monitor measures p50-rtt, p99-rtt and goodput/],
      [['--target', '[::1]:1', '--interval', '5ms'], /--interval must be at least 10ms/],
      [['--target', '[::1]:1', '--window', '10 minutes'], /--window: invalid duration/],
      [['--target', '[::1]:1', '--webhook', 'ftp://[::1]/x'], /--webhook: expected an http\(s\) URL/],
      [['--target', '[::1]:1', '--metrics', '9464'], /--metrics: "9464": no port/],
      [['--target', '[::1]:1', '--probe-count', '0'], /--probe-count: expected a whole number/],
      [['--target', '[::1]:1', '--probe-count', '3', '--probe-warmup', '3'], /--probe-warmup must be less than --probe-count/],
      [['--target', '[::1]:1', '--bogus'], /Unknown argument: --bogus$/m],
      [['--target', '[::1]:1', '--baseline', 'absent'], /--baseline: no baseline named "absent"/],
      [['--target', '[::1]:1', '--alerts', join(dir, 'no/such/dir/alerts.jsonl')], /--alerts .*: cannot write \(no such directory\)/],
    ];
    for (const [args, message] of cases) {
      const withFiles = args.includes('--alerts') ? [...args, '--history', history] : [...args, '--alerts', alerts, '--history', history];
      const { code, stdout, stderr } = await cli(['monitor', ...withFiles]);
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
      expect(existsSync(alerts)).toBe(false);
    }
  });

  it.skipIf(spawnSync('prometheus', ['--version']).error !== undefined)('a real Prometheus server scrapes the endpoint', async () => {
    const { address } = await server();
    const m = startMonitor(['--target', address, '--interval', '200ms', '--probe-count', '5', '--burst-every', '0', '--duration', '45s', '--history', join(dir, 'history-p.db'), '--metrics', '[::1]:0']);
    try {
      const { metricsAddress } = await m.waitFor('started event', (e) => e.event === 'started');
      const webPort = await freePort('127.0.0.1');
      const promDir = mkdtempSync(join(dir, 'prom-'));
      const config = join(promDir, 'prometheus.yml');
      writeFileSync(
        config,
        ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: stoq-bench', '    static_configs:', `      - targets: ['${metricsAddress}']`, ''].join('\n'),
      );
      const prom = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(prom);
      let promLog = '';
      prom.stderr!.on('data', (d) => void (promLog += d));
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(2000) });
        return (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      };
      // bounded polling: up to 30 s, every 250 ms
      let result: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && prom.exitCode === null) {
        try {
          const up = await query('up{job="stoq-bench"}');
          if (up.data.result[0]?.value[1] === '1') {
            result = (await query('stoq_bench_monitor_probes_total{result="ok"}')).data.result;
            if (result.length > 0 && Number(result[0].value[1]) > 0) break;
          }
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(result, promLog.slice(-2000)).toHaveLength(1);
      expect(result[0].metric).toMatchObject({ job: 'stoq-bench', instance: metricsAddress, target: address });
      expect(Number(result[0].value[1])).toBeGreaterThan(0);
      const health = (await query('stoq_bench_monitor_health')).data.result;
      expect(health.map((r) => r.value[1])).toEqual(['0']);
      await stopChild(prom);
    } finally {
      m.stop();
      expect(await m.done).toBe(0);
    }
  });
});
