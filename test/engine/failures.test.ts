// Cancel, a server that vanishes, and bad input: each gives data or a clear error, never a hang.
import { describe, expect, it } from 'vitest';
import { runScenario, startServer, StoqError } from '../../src/index.js';
import { spawnServer } from '../helpers.js';

describe('failures are data in the record', () => {
  it('a cancel mid-run returns what was measured, marked cancelled', async () => {
    const controller = new AbortController();
    const started = Date.now();
    // Abort once data has flowed, not after a guessed delay.
    const { record: r } = await runScenario(
      { kind: 'download', durationNs: 30e9 },
      { signal: controller.signal, intervalNs: 100e6, onInterval: (i) => i.bytesReceived > 0 && controller.abort() },
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.end.state).toBe('cancelled');
    expect(r.end.bytesReceived).toBeGreaterThan(0);
    expect(r.intervals.length).toBeGreaterThan(0);
  });

  it('a server killed mid-run gives an errored record within the idle timeout', async () => {
    const { child, address } = await spawnServer();
    let killedAt = 0;
    const kill = () => {
      if (!killedAt) {
        killedAt = Date.now();
        child.kill('SIGKILL');
      }
    };
    const { record: r } = await runScenario(
      { kind: 'download', durationNs: 30e9, settings: { idleTimeoutNs: 1e9 } },
      { target: address, intervalNs: 100e6, onInterval: (i) => i.bytesReceived > 0 && kill() },
    );
    const elapsed = Date.now() - killedAt;
    expect(r.end.state).toBe('errored');
    expect(r.end.error?.code).toBe('TIMEOUT');
    expect(r.end.bytesReceived).toBeGreaterThan(0);
    // The idle timeout (1 s) plus slack for a loaded machine, not 30 s.
    expect(elapsed).toBeLessThan(1000 + 3000);
  });

  it('a server that stops cleanly mid-run gives an errored record naming the unfinished streams', async () => {
    const server = await startServer({ listen: '[::1]:0' });
    const { record: r } = await runScenario(
      { kind: 'download', durationNs: 30e9, settings: { idleTimeoutNs: 1e9 } },
      { target: server.address, intervalNs: 100e6, onInterval: (i) => void (i.bytesReceived > 0 && server.stop()) },
    );
    expect(r.end.state).toBe('errored');
    expect(r.end.error?.message).toMatch(/unfinished|closed/);
  });

  it('no server at the target: errored within the idle timeout', async () => {
    const server = await startServer({ listen: '[::1]:0' });
    const address = server.address;
    await server.stop();
    const { record: r } = await runScenario({ kind: 'latency', count: 5, settings: { idleTimeoutNs: 500e6 } }, { target: address });
    expect(r.end.state).toBe('errored');
    expect(r.end.error?.code).toBe('TIMEOUT');
  });
});

describe('bad scenario input is refused with a stable code', () => {
  const bad: Array<[string, object, RegExp]> = [
    ['zero connections', { kind: 'download', connections: 0 }, /connections must be between 1/],
    ['unknown congestion control', { kind: 'download', settings: { cc: 'vegas' } }, /vegas/],
    ['two stop conditions', { kind: 'download', bytes: 10, durationNs: 10 }, /not several/],
    ['tiny payload', { kind: 'upload', settings: { payloadSize: 500 } }, /payload size/],
  ];
  for (const [name, scenario, message] of bad) {
    it(name, async () => {
      const error = await runScenario(scenario as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoqError);
      expect((error as StoqError).code).toBe('INVALID_ARGUMENT');
      expect((error as StoqError).message).toMatch(message);
    });
  }

  it('a bad target address', async () => {
    const error = await runScenario({ kind: 'latency', count: 1 }, { target: 'nowhere' }).catch((e: unknown) => e);
    expect((error as StoqError).code).toBe('INVALID_ARGUMENT');
  });
});
