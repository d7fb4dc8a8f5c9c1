// `stoq-bench monitor`: continuous measurement of a target (src/monitor/). stdout carries a line when it
// starts, one alert per health change (unless --alerts FILE takes them, as JSON lines) and a line when it
// stops: text for people on a terminal (src/monitor/text.ts), else JSON lines ("started",
// "alert", "stopped" events). On a terminal a live status line goes to stderr.
import { existsSync } from 'node:fs';
import { fingerprintOf, testbedIdentity } from '../../environment/fingerprint.js';
import { StoqError } from '../../errors.js';
import { checkWritable } from '../../files.js';
import { parseSlo, type Slo } from '../../grading/index.js';
import { defaultStorePath, HistoryStore } from '../../history/index.js';
import { MonitorMetrics, serveMetrics } from '../../monitor/metrics.js';
import type { Alert } from '../../monitor/alerts.js';
import { baselineLevels, runMonitor, type Measurement } from '../../monitor/monitor.js';
import type { BaselineLevels } from '../../monitor/health.js';
import { engineLimit } from '../../native.js';
import { alertText, paint, startedText, statusText, stoppedText } from '../../monitor/text.js';
import { formatDuration } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { address, jsonOutput, time, whole } from '../options.js';

/** `p99-rtt<=2ms` and `rtt-p99<=2ms` name the round-trip percentiles; the rest is parseSlo's syntax. */
export function parseMonitorSlo(text: string): Slo {
  const spelled = String(text).replace(/^\s*(?:rtt[-_]?)?(p50|p99)(?:[-_]?rtt)?(?=\s*[<>])/i, '$1');
  let slo: Slo;
  try {
    slo = parseSlo(spelled);
  } catch (error) {
    throw new StoqError('INVALID_ARGUMENT', `--slo: ${(error as Error).message.replace(spelled, text)}`);
  }
  if (slo.metric !== 'goodput' && slo.metric !== 'latencyP50' && slo.metric !== 'latencyP99') {
    throw new StoqError('INVALID_ARGUMENT', `--slo "${text}": monitor measures p50-rtt, p99-rtt and goodput, not ${slo.metric}`);
  }
  return { ...slo, text: String(text).trim() };
}

/** The engine's shortest interval, and shortest idle timeout (a probe's timeout is its idle timeout). */
const INTERVAL_MIN = engineLimit('intervalNs').min;
const IDLE_MIN = engineLimit('settings.idleTimeoutNs').min;

export const monitorCommand: Command = {
  name: 'monitor',
  describe: 'Measure --target continuously: RTT probes, throughput bursts, health, alerts, Prometheus metrics',
  longRunning: 'measurement',
  options: {
    target: address('target', 'ADDRESS of the server to watch (required)', 'target', { demandOption: true }),
    interval: time('interval', `probe period (TIME, at least ${formatDuration(INTERVAL_MIN)})`, { default: '1s' }),
    window: time('window', 'sliding window of the percentiles and the health (TIME)', { default: '60s' }),
    'burst-every': time('burst-every', 'period of the throughput bursts (TIME; 0 disables them)', { default: '10s' }),
    'burst-duration': time('burst-duration', 'length of one throughput burst, a download (TIME)', { default: '500ms' }),
    'probe-count': whole('probe-count', 'round trips per probe (64 B each way, one connection)', 1, 100_000, { default: '20' }),
    'probe-warmup': whole('probe-warmup', 'round trips at the start of each probe left out of the window (the first after the handshake is slow)', 0, 100_000, { default: '1' }),
    'probe-timeout': time('probe-timeout', 'an unanswered probe fails after this (TIME; idle timeout)', { default: '1s' }),
    duration: time('duration', 'stop after this long (TIME); default: until SIGINT/SIGTERM. Exits 1 if the health is then not Healthy'),
    slo: { type: 'string', array: true, describe: 'an SLO, repeatable: p99-rtt<=2ms, p50-rtt<=500us, goodput>=1Gbps' },
    baseline: { type: 'string', describe: 'a named baseline in the history store to compare with (RTT p50/p99 or goodput)' },
    'allow-testbed-mismatch': { type: 'boolean', default: false, describe: 'compare with a baseline measured on another testbed' },
    'baseline-margin': { type: 'number', default: 25, describe: 'percent worse than the baseline (with confidence) before Degraded' },
    history: { type: 'string', describe: 'history store for every measurement (default $STOQ_BENCH_STORE or ~/.local/share/stoq-bench/history.db)' },
    alerts: { type: 'string', describe: 'append alerts (JSON lines) to FILE instead of stdout' },
    webhook: { type: 'string', describe: 'POST each alert as JSON to this http(s) URL' },
    metrics: address('metrics', 'serve Prometheus metrics on ADDRESS, e.g. [::1]:9464 (GET /metrics)', 'listen'),
    'client-cert': { type: 'string', describe: 'PEM client certificate FILE, for a target that requires one (server --client-ca)' },
    'client-key': { type: 'string', describe: 'PEM private key FILE of --client-cert' },
    json: jsonOutput('the events (started, alert, stopped)'),
  },
  check(argv) {
    if ((argv.interval as number) < INTERVAL_MIN) return `--interval must be at least ${formatDuration(INTERVAL_MIN)}`;
    if ((argv.window as number) < (argv.interval as number)) return '--window must be at least one --interval';
    if ((argv['burst-duration'] as number) <= 0) return '--burst-duration must be more than 0';
    if ((argv['probe-warmup'] as number) >= (argv['probe-count'] as number)) return '--probe-warmup must be less than --probe-count';
    if ((argv['probe-timeout'] as number) < IDLE_MIN) return `--probe-timeout must be at least ${formatDuration(IDLE_MIN)}`;
    if (Boolean(argv['client-cert']) !== Boolean(argv['client-key'])) return '--client-cert and --client-key go together';
    if (argv.duration !== undefined && (argv.duration as number) <= 0) return '--duration must be more than 0';
    const margin = argv['baseline-margin'] as number;
    if (!Number.isFinite(margin) || margin < 0 || margin > 1000) return `--baseline-margin: expected a percentage from 0 to 1000, got "${argv['baseline-margin']}"`;
    for (const s of (argv.slo as string[] | undefined) ?? []) {
      try {
        parseMonitorSlo(s);
      } catch (error) {
        return (error as Error).message;
      }
    }
    if (argv.webhook !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(String(argv.webhook));
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return `--webhook: expected an http(s) URL, got "${argv.webhook}"`;
    }
    return undefined;
  },
  async run(argv, io) {
    const target = argv.target as string;
    const slos = ((argv.slo as string[] | undefined) ?? []).map(parseMonitorSlo);
    const alertsFile = argv.alerts as string | undefined;
    // refuse now, before anything is measured or written, what cannot be written or read
    if (alertsFile) checkWritable(alertsFile, `--alerts ${alertsFile}`);
    const historyPath = (argv.history as string | undefined) ?? defaultStorePath();
    let baseline: BaselineLevels | undefined;
    if (argv.baseline !== undefined) {
      const name = String(argv.baseline);
      if (!existsSync(historyPath)) throw new StoqError('INVALID_ARGUMENT', `--baseline: no baseline named "${name}" (no history store at ${historyPath})`);
      const store = HistoryStore.open(historyPath, { readonly: true });
      try {
        const records = store.baselineRecords(name);
        const info = store.baselineInfo(name);
        if (!records || !info) throw new StoqError('INVALID_ARGUMENT', `--baseline: no baseline named "${name}" in ${historyPath}`);
        const here = fingerprintOf(testbedIdentity());
        if (info.fingerprint !== here && !argv['allow-testbed-mismatch']) {
          throw new StoqError('INVALID_ARGUMENT', `--baseline "${name}" was measured on testbed ${info.fingerprint}, this one is ${here} (see stoq-bench env; --allow-testbed-mismatch to compare anyway)`);
        }
        baseline = baselineLevels(name, records);
      } finally {
        store.close();
      }
      if (baseline.p50Us === undefined && baseline.goodputBps === undefined) {
        throw new StoqError('INVALID_ARGUMENT', `--baseline "${name}": no completed latency or transfer runs to compare with`);
      }
    }
    const history = HistoryStore.open(historyPath);
    let closeMetrics: (() => Promise<void>) | undefined;
    try {
      const metrics = argv.metrics !== undefined ? new MonitorMetrics(target) : undefined;
      let metricsAddress: string | undefined;
      if (metrics) {
        const served = await serveMetrics(metrics.registry, String(argv.metrics));
        metricsAddress = served.address;
        closeMetrics = served.close;
      }
      const json = argv.json as boolean;
      const emit = (event: Record<string, unknown>, text: () => string) => io.stdout(json ? `${JSON.stringify(event)}\n` : `${text()}\n`);
      const started = {
        target,
        intervalS: (argv.interval as number) / 1e9,
        windowS: (argv.window as number) / 1e9,
        burstEveryS: (argv['burst-every'] as number) / 1e9,
        slos: slos.map((s) => s.text),
        baseline: baseline ?? null,
        history: history.path,
        metrics: metricsAddress ? `http://${metricsAddress}/metrics` : null,
        metricsAddress: metricsAddress ?? null,
      };
      const startedNs = process.hrtime.bigint();
      emit({ event: 'started', time: new Date().toISOString(), ...started }, () =>
        startedText({
          ...started,
          intervalNs: argv.interval as number,
          windowNs: argv.window as number,
          burstEveryNs: argv['burst-every'] as number,
          burstDurationNs: argv['burst-duration'] as number,
          probeCount: argv['probe-count'] as number,
          baseline: baseline?.name ?? null,
        }),
      );
      // the live status line (stderr, on a terminal), erased before anything else is printed
      let width = 0;
      const clearStatus = () => {
        if (width > 0) io.stderr(`\r${' '.repeat(width)}\r`);
        width = 0;
      };
      const status = (m: Measurement) => {
        if (!io.isTTY) return;
        const text = statusText(m);
        io.stderr(`\r${paint(text, m.health.state, io.color)}${' '.repeat(Math.max(0, width - text.length))}`);
        width = text.length;
      };
      const print = (alert: Alert) => {
        if (io.isTTY) clearStatus();
        io.stdout(json ? `${JSON.stringify(alert)}\n` : `${alertText(alert, io.color)}\n`);
      };
      const result = await runMonitor({
        target,
        clientCert: argv['client-cert'] as string | undefined,
        clientKey: argv['client-key'] as string | undefined,
        intervalNs: argv.interval as number,
        windowNs: argv.window as number,
        burstEveryNs: argv['burst-every'] as number,
        burstDurationNs: argv['burst-duration'] as number,
        probeCount: argv['probe-count'] as number,
        probeWarmup: argv['probe-warmup'] as number,
        probeTimeoutNs: argv['probe-timeout'] as number,
        durationNs: argv.duration as number | undefined,
        slos,
        baseline,
        margin: (argv['baseline-margin'] as number) / 100,
        signal: io.signal,
        history,
        metrics,
        alerts: { print, stderr: io.stderr, file: alertsFile, webhook: argv.webhook as string | undefined },
        onMeasurement: status,
      });
      if (io.isTTY) clearStatus();
      const elapsedNs = Number(process.hrtime.bigint() - startedNs);
      emit({ event: 'stopped', time: new Date().toISOString(), target, ...result }, () => stoppedText(result, elapsedNs, io.color));
      // Ending Degraded or Critical is a failed check, so a bounded monitor can gate a CI job.
      return result.state === null || result.state === 'Healthy' ? EXIT.ok : EXIT.failedCheck;
    } finally {
      await closeMetrics?.();
      history.close();
    }
  },
};
