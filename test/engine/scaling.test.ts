// Connection scaling: 1 to 1,000 concurrent connections all finish with exact byte counts. How fast and
// how much memory per connection is a benchmark's question (bench/scaling.ts), not a test's.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';
import { engineSpec } from '../../src/native.js';

describe('concurrent connections', () => {
  for (const n of [1, 10, 100, 1000]) {
    it(`${n} connection(s) each receive exactly their share`, async () => {
      const perConnection = 32 * 1024 + 3;
      const { record: r } = await runScenario({ kind: 'download', bytes: n * perConnection, connections: n });
      expect(r.end.state).toBe('completed');
      expect(r.connections).toHaveLength(n);
      expect(r.connections.every((c) => c.state === 'completed' && c.bytesReceived === perConnection && c.streamsCompleted === 1)).toBe(true);
      expect(r.end.bytesReceived).toBe(n * perConnection);
      expect(r.end.serverStats?.accepted).toBe(n);
      expect(r.end.serverStats?.bytesSent).toBe(n * perConnection);
      expect(r.environment.client.fastPath.socketDrops).toBe(0);
      // Connections open as earlier handshakes complete: beyond the bound, each opens after one completed.
      const bound = engineSpec().handshakesInFlight;
      const firstDone = Math.min(...r.connections.map((c) => c.connectUs! + c.handshakeUs!));
      const openedLater = r.connections.filter((c) => c.connectUs! >= firstDone).length;
      expect(openedLater).toBeGreaterThanOrEqual(Math.max(0, n - bound));
    });
  }

  it('1,000 connections sharded over two client threads each receive exactly their share', async () => {
    const n = 1000;
    const perConnection = 16 * 1024 + 7;
    const { record: r } = await runScenario({ kind: 'download', bytes: n * perConnection, connections: n, settings: { threads: 2 } });
    expect(r.end.state).toBe('completed');
    expect(r.environment.client.settings.threads).toBe(2);
    expect(r.connections).toHaveLength(n);
    expect(r.connections.every((c) => c.state === 'completed' && c.bytesReceived === perConnection && c.streamsCompleted === 1)).toBe(true);
    expect(r.end.bytesReceived).toBe(n * perConnection);
    expect(r.end.serverStats?.bytesSent).toBe(n * perConnection);
  });

  it('1,000 connections each complete exactly their requests, both sides counting every byte', async () => {
    const n = 1000;
    const { record: r } = await runScenario({ kind: 'requests', count: 3 * n, connections: n, requestSize: 100, responseSize: 1000 });
    expect(r.end.state).toBe('completed');
    expect(r.end.completed).toBe(3 * n);
    expect(r.end.bytesSent).toBe(3 * n * 100);
    expect(r.end.bytesReceived).toBe(3 * n * 1000);
    expect(r.end.serverStats?.bytesReceived).toBe(3 * n * 100);
    expect(r.end.serverStats?.bytesSent).toBe(3 * n * 1000);
  });
});
