// The host's clock synchronisation, as far as its tools can tell: what a run started for a common instant
// (`run --start-at`) records beside its lateness. Clock offset between hosts is a known limit of any
// distributed measurement: the host's NTP/PTP state (`chronyc tracking`, else `timedatectl show`) is stated,
// and "unknown" is said as such.
import { execFile } from 'node:child_process';
import type { ClockSync } from '../generated/engine.js';

/** Reads the clock's sync state from `chronyc tracking`, else `timedatectl show`. Never throws. */
export async function clockSync(): Promise<ClockSync> {
  const chrony = await run('chronyc', ['tracking']);
  if (chrony.ok) return parseChronycTracking(chrony.output);
  const timedatectl = await run('timedatectl', ['show', '--property=NTPSynchronized,NTP']);
  if (timedatectl.ok) return parseTimedatectl(timedatectl.output);
  return {
    source: null,
    synchronized: null,
    reference: null,
    offsetUs: null,
    errorBoundUs: null,
    detail: `unknown: chronyc ${chrony.output}; timedatectl ${timedatectl.output}`,
  };
}

/** The state `chronyc tracking` prints (chrony's documented format). */
export function parseChronycTracking(text: string): ClockSync {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const seconds = (value: string | undefined) => {
    const m = value ? /^([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?) seconds/.exec(value) : null;
    return m ? Number(m[1]) : null;
  };
  const leap = field('Leap status');
  const refId = field('Reference ID');
  const system = field('System time');
  const sys = seconds(system);
  // "0.000012 seconds fast of NTP time": this clock is ahead.
  const offsetS = sys === null || system === undefined ? null : /slow/.test(system) ? -sys : sys;
  const dispersion = seconds(field('Root dispersion'));
  const delay = seconds(field('Root delay'));
  const synchronized = leap === undefined ? null : !/not synchronised/i.test(leap);
  const reference = refId ? /\(([^)]*)\)/.exec(refId)?.[1] || refId.split(/\s+/)[0] : null;
  return {
    source: 'chronyc',
    synchronized,
    reference,
    offsetUs: offsetS === null ? null : offsetS * 1e6,
    errorBoundUs: offsetS === null || dispersion === null || delay === null ? null : (Math.abs(offsetS) + dispersion + delay / 2) * 1e6,
    detail: `Leap status: ${leap ?? '?'}; System time: ${system ?? '?'}`,
  };
}

/** The state `timedatectl show` prints (systemd-timesyncd or whichever NTP service systemd knows). */
export function parseTimedatectl(text: string): ClockSync {
  const synced = /^NTPSynchronized=(yes|no)$/m.exec(text)?.[1];
  return {
    source: 'timedatectl',
    synchronized: synced === undefined ? null : synced === 'yes',
    reference: null,
    offsetUs: null,
    errorBoundUs: null,
    detail: text.trim().split(/\r?\n/).join('; '),
  };
}

function run(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 2000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'not installed' : stderr.trim().split(/\r?\n/)[0] || error.message;
        resolve({ ok: false, output: why });
      } else {
        resolve({ ok: true, output: stdout });
      }
    });
  });
}
