// Starting together: a run told to start at an instant (`run --start-at`, `runScenario({ startAt })`) waits
// for it, and its record's `start` says how late its clock started (the engine's wall-clock anchor against
// the instant) and what the host can tell of its clock's synchronisation.
import { describe, expect, it } from 'vitest';
import { clockSync, parseChronycTracking, parseTimedatectl } from '../../src/environment/clock.js';
import { runScenario, runSession } from '../../src/run.js';
import { cli, recordSchema } from '../helpers.js';

const CHRONY = `Reference ID    : A9FEA97B (169.254.169.123)
Stratum         : 4
Ref time (UTC)  : Mon Nov 30 09:00:00 2026
System time     : 0.000012345 seconds slow of NTP time
Last offset     : +0.000001234 seconds
RMS offset      : 0.000023456 seconds
Frequency       : 1.234 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.012 ppm
Root delay      : 0.000400000 seconds
Root dispersion : 0.000100000 seconds
Update interval : 16.0 seconds
Leap status     : Normal
`;

describe('the clock sync state', () => {
  it("from chronyc tracking: synchronised, the reference, the offset and chrony's error bound", () => {
    const s = parseChronycTracking(CHRONY);
    expect(s).toMatchObject({ source: 'chronyc', synchronized: true, reference: '169.254.169.123' });
    expect(s.offsetUs).toBeCloseTo(-12.345, 9); // slow of NTP time: behind
    // |offset| + root dispersion + root delay / 2
    expect(s.errorBoundUs).toBeCloseTo(12.345 + 100 + 200, 9);
    const ptp = parseChronycTracking(CHRONY.replace('A9FEA97B (169.254.169.123)', '50484330 (PHC0)').replace('slow of', 'fast of'));
    expect(ptp).toMatchObject({ reference: 'PHC0' });
    expect(ptp.offsetUs).toBeCloseTo(12.345, 9);
    expect(parseChronycTracking(CHRONY.replace('Leap status     : Normal', 'Leap status     : Not synchronised')).synchronized).toBe(false);
  });

  it('from timedatectl show', () => {
    expect(parseTimedatectl('NTPSynchronized=yes\nNTP=yes\n')).toMatchObject({ source: 'timedatectl', synchronized: true, offsetUs: null });
    expect(parseTimedatectl('NTPSynchronized=no\nNTP=yes\n').synchronized).toBe(false);
  });

  it('on this host: an answer, "unknown" said as such, never a throw', async () => {
    const s = await clockSync();
    expect(['chronyc', 'timedatectl', null]).toContain(s.source);
    if (s.source === null) expect(s).toMatchObject({ synchronized: null, detail: expect.stringMatching(/^unknown: chronyc .*; timedatectl /) });
  });
});

describe('a run started at an instant', () => {
  it("waits for it; the engine's anchor minus the instant is its lateness", async () => {
    const at = new Date(Date.now() + 1500);
    const { record } = await runScenario({ kind: 'download', bytes: 100_000 }, { startAt: { at, toleranceNs: 10e9 } });
    expect(recordSchema.errors(record)).toBeUndefined();
    const s = record.start!;
    expect(s).toMatchObject({ at: at.toISOString(), toleranceUs: 10_000_000, late: false });
    expect(s.lateUs).toBe(s.anchorUnixUs - at.getTime() * 1e3);
    // it waited: its clock started at the instant, not before it (this host's clock against itself)
    expect(s.lateUs!).toBeGreaterThanOrEqual(0);
    expect(s.clock).toEqual(expect.objectContaining({ detail: expect.any(String) }));
  }, 30_000);

  it('cancelled while waiting: rejects CANCELLED, nothing measured', async () => {
    const controller = new AbortController();
    const running = runScenario({ kind: 'download', bytes: 100_000 }, { startAt: { at: new Date(Date.now() + 60_000), toleranceNs: 0 }, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/while waiting for the start at/) });
  });

  it('is one run: a session of several is refused', async () => {
    await expect(runSession({ kind: 'download' }, 2, { startAt: { at: new Date(), toleranceNs: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'startAt' });
  });
});

describe('run --start-at', () => {
  it('records the instant, the lateness and the clock state; a passed instant is late, said on stderr', async () => {
    const at = new Date(Date.now() - 2000).toISOString();
    const r = await cli(['run', '--bytes', '1MiB', '--json', '--no-history', '--start-at', at, '--start-tolerance', '10ms']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the start instant .* passed \d+\.\d+ s ago: starting now, late/);
    const record = JSON.parse(r.stdout);
    expect(recordSchema.errors(record)).toBeUndefined();
    expect(record.start).toMatchObject({ at, toleranceUs: 10_000, late: true });
    expect(record.start.lateUs).toBeGreaterThan(2e6);
    expect(record.start.clock).toEqual(expect.objectContaining({ detail: expect.any(String) }));
  });

  it('without --start-at: the anchor only', async () => {
    const r = await cli(['run', '--bytes', '1MiB', '--json', '--no-history']);
    const record = JSON.parse(r.stdout);
    expect(record.start).toEqual({ anchorUnixUs: expect.any(Number), at: null, lateUs: null, toleranceUs: null, late: null, clock: null });
    // the wall clock at the engine's start, read beside its monotonic origin: close to the record's startedAt
    expect(Math.abs(record.start.anchorUnixUs / 1e3 - Date.parse(record.startedAt))).toBeLessThan(1000);
  });

  it('one run only, an instant with a zone', async () => {
    expect((await cli(['run', '--start-at', '2026-12-01T10:00:00Z', '--runs', '2'])).stderr).toMatch(/--start-at starts one run together with other clients: give --runs 1/);
    expect((await cli(['run', '--start-at', '2026-12-01T10:00:00'])).stderr).toMatch(/--start-at: invalid instant "2026-12-01T10:00:00"/);
  });

  it('SIGINT while waiting: exit 130, nothing measured', async () => {
    const controller = new AbortController();
    const running = cli(['run', '--bytes', '1MiB', '--no-history', '--start-at', new Date(Date.now() + 60_000).toISOString()], controller.signal);
    setTimeout(() => controller.abort(), 1500);
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/waiting until .* to start with the session[\s\S]*stopped while waiting for the start at/);
  });
});
