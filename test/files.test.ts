// The one read, the one atomic write and the one append: clear errors naming the file, every byte written,
// nothing left behind when a write fails, an existing file replaced whole or refused, appends whole and
// never lost when many writers add to one file at once.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendLines, checkWritable, readTextFile, writeFileAtomic } from '../src/files.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-files-'));

describe('readTextFile', () => {
  it('names the file and why it cannot be read, as INVALID_FILE', () => {
    expect(() => readTextFile(join(dir, 'missing.jsonl'))).toThrow(expect.objectContaining({ code: 'INVALID_FILE', message: `${join(dir, 'missing.jsonl')}: cannot read (no such file)` }));
    expect(() => readTextFile(dir)).toThrow(/cannot read \(a directory\)/);
    expect(() => readTextFile(join(dir, 'x'), '--records x')).toThrow(/^--records x: cannot read/);
  });
});

describe('writeFileAtomic', () => {
  it('writes every byte, replaces a file whole, and leaves no temporary file', () => {
    const path = join(dir, 'big.jsonl');
    const text = `${'é'.repeat(1 << 20)}\n`; // multi-byte characters: bytes, not characters, are counted
    writeFileAtomic(path, text);
    expect(readFileSync(path, 'utf8')).toBe(text);
    writeFileAtomic(path, 'short\n');
    expect(readFileSync(path, 'utf8')).toBe('short\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to replace a file when asked not to, and leaves it as it was', () => {
    const path = join(dir, 'kept.json');
    writeFileSync(path, 'kept');
    expect(() => writeFileAtomic(path, 'new', { replace: false })).toThrow(/kept\.json: the file exists \(use --force to replace it\)/);
    expect(readFileSync(path, 'utf8')).toBe('kept');
  });

  it('a write that fails names the file, keeps what was there and removes its temporary file', () => {
    expect(() => writeFileAtomic(join(dir, 'no', 'such', 'r.md'), 'x', { name: '--out r.md' })).toThrow(
      expect.objectContaining({ code: 'INVALID_FILE', message: '--out r.md: cannot write (no such directory)' }),
    );
    // the rename fails: a directory stands where the file would go
    const blocked = join(dir, 'blocked');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'inside'), 'x');
    expect(() => writeFileAtomic(blocked, 'text')).toThrow(/blocked: cannot write/);
    expect(existsSync(join(blocked, 'inside'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('appendLines', () => {
  it('adds whole lines after what is there, starting a new line when the last one lacks its newline', async () => {
    const path = join(dir, 'append.jsonl');
    writeFileSync(path, '{"old":1}');
    await appendLines(path, '{"new":2}');
    await appendLines(path, '{"new":3}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"old":1}\n{"new":2}\n{"new":3}\n');
  });

  it('200 appends at once to one file: every line whole, none lost, no lock left', async () => {
    const path = join(dir, 'many.jsonl');
    const line = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(4000 + (i % 7) * 1000) });
    await Promise.all(Array.from({ length: 200 }, (_, i) => appendLines(path, line(i))));
    const got = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(got.sort()).toEqual(Array.from({ length: 200 }, (_, i) => line(i)).sort());
    expect(readdirSync(dir).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  it('a path that cannot be a file is named, as INVALID_FILE', async () => {
    await expect(appendLines(join(dir, 'no', 'such', 'r.jsonl'), 'x', { name: '--out r.jsonl' })).rejects.toMatchObject({ code: 'INVALID_FILE', message: '--out r.jsonl: cannot write (no such directory)' });
    await expect(appendLines(dir, 'x')).rejects.toMatchObject({ code: 'INVALID_FILE', message: `${dir}: cannot write (a directory)` });
  });
});

describe('checkWritable', () => {
  it('creates nothing, and names what cannot be written', () => {
    checkWritable(join(dir, 'not-yet.jsonl'));
    expect(existsSync(join(dir, 'not-yet.jsonl'))).toBe(false);
    expect(() => checkWritable(join(dir, 'no', 'x.jsonl'), '--out x.jsonl')).toThrow(expect.objectContaining({ code: 'INVALID_FILE', message: '--out x.jsonl: cannot write (no such directory)' }));
    expect(() => checkWritable(dir)).toThrow(/cannot write \(a directory\)/);
  });
});
