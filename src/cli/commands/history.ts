// `stoq-bench history [sessions|trend]`: what the history store holds: its sessions, or a metric's trend
// per testbed and scenario with the change points found in it.
import { existsSync } from 'node:fs';
import { StoqError } from '../../errors.js';
import { defaultStorePath, HistoryStore } from '../../history/store.js';
import { headlineMetric, listSessions, metricTrend } from '../../history/trend.js';
import { sessionsText, trendHtml, trendText } from '../../report/trend.js';
import { DEFAULT_LEVEL, METRIC_IDS, type MetricId } from '../../stats/run-model.js';
import { EXIT, type Command } from '../command.js';
import { formatConflict, formatOf, jsonOutput } from '../options.js';

const ACTIONS = ['sessions', 'trend'] as const;

export const historyCommand: Command = {
  name: 'history',
  usage: '[action]',
  describe: "Show the history store: its sessions (the default), or a metric's trend per scenario with its change points",
  positionals: { action: { describe: 'sessions (list them, newest first) or trend (one metric over time)', type: 'string' } },
  options: {
    store: { type: 'string', describe: 'history store FILE (default $STOQ_BENCH_STORE or ~/.local/share/stoq-bench/history.db)' },
    metric: { type: 'string', choices: METRIC_IDS, describe: "trend: the metric (default: each scenario's headline: goodput, latencyP50, requestRate, handshakeRate)" },
    scenario: { type: 'string', describe: 'only sessions of this scenario id or kind (download, latency, ...)' },
    testbed: { type: 'string', describe: 'only sessions on this testbed fingerprint (a prefix is enough)' },
    limit: { type: 'number', describe: 'only the N most recent sessions' },
    format: { choices: ['text', 'json', 'html'], describe: 'text, json (one line), or html (trend: one offline page with a chart per scenario)', defaultDescription: 'as --json decides' },
    json: jsonOutput('the sessions or the trend (--format json; --no-json: --format text)'),
  },
  check(argv) {
    const action = argv.action as string | undefined;
    if (action !== undefined && !(ACTIONS as readonly string[]).includes(action)) return `unknown history action "${action}" (expected ${ACTIONS.join(' or ')})`;
    const limit = argv.limit as number | undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) return '--limit must be a whole number above 0';
    if (argv.format === 'html' && action !== 'trend') return '--format html draws a trend: stoq-bench history trend --format html';
    return formatConflict(argv);
  },
  async run(argv, io) {
    const path = (argv.store as string | undefined) ?? defaultStorePath();
    if (!existsSync(path)) throw new StoqError('INVALID_FILE', `no history store at ${path} (\`stoq-bench run\` records every run there; or give --store FILE)`);
    const store = HistoryStore.open(path, { readonly: true });
    try {
      const filter = { fingerprint: argv.testbed as string | undefined, scenario: argv.scenario as string | undefined, limit: argv.limit as number | undefined };
      const format = formatOf(argv);
      if ((argv.action ?? 'sessions') === 'sessions') {
        const rows = listSessions(store, filter);
        io.stdout(format === 'json' ? `${JSON.stringify({ kind: 'stoq-bench.history.sessions', store: path, sessions: rows })}\n` : sessionsText(rows, path));
        return EXIT.ok;
      }
      const kinds = new Set(store.sessions().filter((s) => filter.scenario === undefined || s.scenarioId === filter.scenario || s.scenarioKind === filter.scenario).map((s) => s.scenarioKind));
      const metrics = argv.metric ? [argv.metric as MetricId] : [...new Set([...kinds].map(headlineMetric))];
      const groups = metrics.flatMap((m) => metricTrend(store, m, filter, { level: DEFAULT_LEVEL }).filter((g) => argv.metric || headlineMetric(g.scenarioKind) === m));
      if (format === 'json') io.stdout(`${JSON.stringify({ kind: 'stoq-bench.history.trend', store: path, groups })}\n`);
      else if (format === 'html') io.stdout(trendHtml(groups, path));
      else io.stdout(trendText(groups, path));
      return EXIT.ok;
    } finally {
      store.close();
    }
  },
};
