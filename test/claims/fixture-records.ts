// Fixed run records for the claims corpus: seeded, so every verdict is reproducible. One testbed:
// - download: 6 runs at about 9 Gbit/s (1% noise), about 833k packets/s;
// - latency: 6 runs of 5,000 round trips around 60 us (p50 about 60 us, p99 about 120 us), 15,000 requests/s;
// - handshakes: 6 runs at about 2,800 handshakes/s, 400 handshake times around 1.3 ms each;
// - one download of exactly 100 MB over 1,000 connections, every one completed.
import type { RunRecord } from '../../src/record.js';
import { createRng, fakeRecord, fakeSession } from '../stats/make-records.js';

export function fixtureRecords(): RunRecord[] {
  const rng = createRng(8);
  const downloads = fakeSession(rng, 'corpus-download', 6, { noise: 0.01 });
  for (const r of downloads) {
    for (const iv of r.intervals) iv.client.packetsReceived = Math.round(iv.bytesReceived / 1350);
  }
  const latency = fakeSession(rng, 'corpus-latency', 6, { kind: 'latency', scenarioId: 'scn-latency', latencyUs: 60, latencySamples: 5000 }).map((r) => {
    r.end.requestsPerSecond = 15_000 * (1 + 0.01 * rng.normal());
    return r;
  });
  const handshakes = fakeSession(rng, 'corpus-handshakes', 6, { kind: 'handshakes', scenarioId: 'scn-handshakes', latencyUs: 1300, latencySamples: 400 }).map((r) => {
    r.end.handshakesPerSecond = 2_800 * (1 + 0.01 * rng.normal());
    return r;
  });
  const wide = fakeRecord(rng, { session: 'corpus-connections', scenarioId: 'scn-1000-connections', noise: 0.01 });
  wide.scenario = { ...wide.scenario, bytes: 100_000_000, connections: 1000 };
  wide.end = { ...wide.end, bytesReceived: 100_000_000, connections: { total: 1000, completed: 1000, errored: 0, cancelled: 0 } };
  for (const iv of wide.intervals) iv.client.packetsReceived = Math.round(iv.bytesReceived / 1350);
  return [...downloads, ...latency, ...handshakes, wide];
}
