// Errors as data: the engine's JS errors carry their stable `code` (and the `field` at fault) as
// properties, the TypeScript code list is the engine's, and nothing parses messages.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, normalizeScenario, runScenario, startServer, StoqError } from '../src/index.js';
import { engineSpec, native } from '../src/native.js';

describe('error codes', () => {
  it('are the same list in Rust and TypeScript', () => {
    expect([...ERROR_CODES]).toEqual(engineSpec().errorCodes);
  });

  it('the binding sets code and field on the JS error itself', () => {
    let thrown: unknown;
    try {
      native.normalizeScenario(JSON.stringify({ kind: 'download', settings: { payloadSize: 900 } }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'settings.payloadSize' });
    expect((thrown as Error).message).toBe('payload size must be between 1200 and 65527, got 900');
  });

  it('a StoqError keeps the field at fault', () => {
    const cases: Array<[object, string]> = [
      [{ kind: 'download', connections: 0 }, 'connections'],
      [{ kind: 'download', inflight: 16 }, 'inflight'],
      [{ kind: 'latency', streams: 4 }, 'streams'],
      [{ kind: 'requests', bytes: 10 }, 'bytes'],
    ];
    for (const [input, field] of cases) {
      const error = (() => {
        try {
          normalizeScenario(input as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error, JSON.stringify(input)).toBeInstanceOf(StoqError);
      expect(error, JSON.stringify(input)).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    }
  });

  it('a value no whole number could be is refused in words, with the field and its range (never the JSON reader\'s message)', () => {
    const cases: Array<[object, string, string]> = [
      [{ kind: 'download', durationNs: 3.6e23 }, 'durationNs', 'duration (ns): expected a whole number from 1000000 to 86400000000000, got 3.6e+23'],
      [{ kind: 'download', bytes: -1 }, 'bytes', 'bytes: expected a whole number from 0 to 1125899906842624, got -1'],
      [{ kind: 'download', settings: { payloadSize: 1350.5 } }, 'settings.payloadSize', 'payload size: expected a whole number from 1200 to 65527, got 1350.5'],
      [{ kind: 'latency', count: '5' }, 'count', 'count: expected a whole number from 1 to 4294967295, got "5"'],
    ];
    for (const [input, field, message] of cases) {
      expect(() => normalizeScenario(input as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field, message }));
    }
  });

  it('options at fault are named too: the target, the interval, the listen address', async () => {
    await expect(runScenario({ kind: 'latency', count: 1 }, { target: 'nowhere' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'target' });
    const server = await startServer({ listen: '[::1]:0' });
    try {
      await expect(runScenario({ kind: 'latency', count: 1 }, { target: server.address, intervalNs: 1e6 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'intervalNs',
        message: 'interval must be at least 10ms',
      });
    } finally {
      await server.stop();
    }
    await expect(startServer({ listen: 'here' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'listen' });
  });

  it('a stopped server says so with a code, not a message to parse', async () => {
    const server = await startServer({ listen: '[::1]:0' });
    await server.stop();
    expect(() => server.stats()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'the server is stopped' }));
  });
});
