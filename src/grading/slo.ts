// Absolute limits (SLOs) such as "goodput>=1Gbps" or "p99<=2ms": breached with confidence means the whole
// confidence interval of the candidate's level lies on the wrong side, whatever the baseline says.
import { StoqError } from '../errors.js';
import type { MetricId } from '../stats/run-model.js';
import { parseDuration, parseRate } from '../units.js';

export interface Slo {
  metric: MetricId;
  op: '>=' | '<=';
  limit: number;
  text: string;
}

const NAMES: Record<string, MetricId> = {
  goodput: 'goodput', throughput: 'goodput',
  p50: 'latencyP50', latencyp50: 'latencyP50', rttp50: 'latencyP50',
  p99: 'latencyP99', latencyp99: 'latencyP99', rttp99: 'latencyP99',
  rps: 'requestRate', requests: 'requestRate', requestrate: 'requestRate',
  hps: 'handshakeRate', handshakes: 'handshakeRate', handshakerate: 'handshakeRate',
};

/** Parses `METRIC>=VALUE` or `METRIC<=VALUE` (goodput takes a RATE, p50/p99 a TIME, rps/hps a number). */
export function parseSlo(text: string): Slo {
  const m = /^\s*([a-zA-Z0-9]+)\s*(>=|<=)\s*(\S+)\s*$/.exec(text);
  const metric = m ? NAMES[m[1].toLowerCase().replace(/[^a-z0-9]/g, '')] : undefined;
  if (!m || !metric) {
    throw new StoqError('INVALID_ARGUMENT', `invalid SLO "${text}" (expected e.g. goodput>=1Gbps, p99<=2ms, rps>=5000, hps>=1000)`);
  }
  const op = m[2] as Slo['op'];
  let limit: number;
  if (metric === 'goodput') limit = parseRate(m[3]);
  else if (metric === 'latencyP50' || metric === 'latencyP99') limit = parseDuration(m[3]) / 1e3;
  else {
    limit = Number(m[3].replace(/\/s$/, ''));
    if (!Number.isFinite(limit)) throw new StoqError('INVALID_ARGUMENT', `invalid SLO limit "${m[3]}" in "${text}"`);
  }
  return { metric, op, limit, text: text.trim() };
}
