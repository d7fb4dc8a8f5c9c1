// The writers of src/files.ts when writes fail or come up short. The failures here are injected (node:fs's
// writeSync replaced by one that writes only part of what it is given, then fails with ENOSPC, the way a
// disk filling up does), so each path is taken exactly; the real full disk, a tmpfs mounted in a mount
// namespace, is in test/cli-nothing-lost.test.ts.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** What the injected writeSync does: write at most `chunk` bytes a call, and fail once `room` bytes are used. */
const disk: { chunk: number; room: number } = { chunk: Infinity, room: Infinity };

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  // the form files.ts calls: (fd, buffer, offset, length)
  const writeSync = ((fd: number, buffer: Buffer, offset: number, length: number) => {
    if (disk.room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const n = Math.min(length, disk.chunk, disk.room);
    disk.room -= n;
    return real.writeSync(fd, buffer, offset, n);
  }) as typeof real.writeSync;
  return { ...real, writeSync, default: { ...real, writeSync } };
});

const { appendLines, writeFileAtomic } = await import('../src/files.js');
const { emitAlert } = await import('../src/monitor/alerts.js');
type Alert = import('../src/monitor/alerts.js').Alert;

const dir = mkdtempSync(join(tmpdir(), 'stoq-files-fail-'));
const leftovers = () => readdirSync(dir).filter((f) => /\.tmp$|\.lock$/.test(f));

afterEach(() => {
  disk.chunk = Infinity;
  disk.room = Infinity;
});

describe('short writes are continued, never taken for the whole', () => {
  it('writeFileAtomic and appendLines write every byte, 7 bytes a call', async () => {
    disk.chunk = 7;
    const text = `${'é€😀'.repeat(500)}\n`;
    writeFileAtomic(join(dir, 'short.txt'), text);
    expect(readFileSync(join(dir, 'short.txt'), 'utf8')).toBe(text);
    await appendLines(join(dir, 'short.jsonl'), '{"a":1}');
    await appendLines(join(dir, 'short.jsonl'), text);
    expect(readFileSync(join(dir, 'short.jsonl'), 'utf8')).toBe(`{"a":1}\n${text}`);
  });
});

describe('a disk that fills up (injected ENOSPC after a short write)', () => {
  it('writeFileAtomic: an IO error naming the file; the file that was there is kept; no temporary file', () => {
    const path = join(dir, 'kept.json');
    writeFileSync(path, '{"good":true}\n');
    disk.room = 100;
    disk.chunk = 60;
    expect(() => writeFileAtomic(path, 'x'.repeat(1000), { name: '--out kept.json' })).toThrow(
      expect.objectContaining({ code: 'IO', message: '--out kept.json: cannot write (no space left on device)' }),
    );
    expect(readFileSync(path, 'utf8')).toBe('{"good":true}\n');
    expect(leftovers()).toEqual([]);
  });

  it('appendLines: the file is cut back to what it held; a file it created is removed', async () => {
    const path = join(dir, 'runs.jsonl');
    writeFileSync(path, '{"run":1}\n');
    disk.room = 50;
    await expect(appendLines(path, JSON.stringify({ run: 2, pad: 'x'.repeat(200) }), { name: '--out runs.jsonl' })).rejects.toMatchObject({
      code: 'IO',
      message: '--out runs.jsonl: cannot write (no space left on device)',
    });
    expect(readFileSync(path, 'utf8')).toBe('{"run":1}\n');
    disk.room = 0;
    await expect(appendLines(join(dir, 'new.jsonl'), '{"run":1}')).rejects.toMatchObject({ code: 'IO' });
    expect(existsSync(join(dir, 'new.jsonl'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});

describe('monitor --alerts FILE on a full disk', () => {
  it('an alert the file cannot take is printed instead, and stderr says why: none is lost', async () => {
    const file = join(dir, 'alerts.jsonl');
    const printed: unknown[] = [];
    let stderr = '';
    const alert: Alert = { event: 'alert', time: '2026-11-30T12:00:00.000Z', target: '[::1]:4433', from: 'Healthy', to: 'Critical', reason: 'probe failed', reasons: ['probe failed'], window: { rttN: 0, rttP50Us: null, rttP99Us: null, bursts: 0, lastGoodputBps: null } };
    await emitAlert(alert, { print: (a) => printed.push(a), stderr: (t) => void (stderr += t), file });
    disk.room = 10;
    await emitAlert({ ...alert, from: 'Critical', to: 'Healthy' }, { print: (a) => printed.push(a), stderr: (t) => void (stderr += t), file });
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(alert)}\n`);
    expect(printed).toEqual([{ ...alert, from: 'Critical', to: 'Healthy' }]);
    expect(stderr).toBe(`stoq-bench monitor: --alerts ${file}: cannot write (no space left on device); this alert is printed on stdout instead\n`);
  });
});
