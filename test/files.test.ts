// The one read and the one atomic write: clear errors naming the file, every byte written, nothing left
// behind when a write fails, and an existing file replaced whole or refused.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWritable, readTextFile, writeFileAtomic } from '../src/files.js';

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
    expect(() => writeFileAtomic(path, 'new', { replace: false })).toThrow(/kept\.json exists \(use --force to replace it\)/);
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

describe('checkWritable', () => {
  it('says before any work whether a write could happen, creating nothing', () => {
    const target = join(dir, 'later.jsonl');
    checkWritable(target);
    expect(existsSync(target)).toBe(false);
    expect(() => checkWritable(join(dir, 'no', 'r.jsonl'), '--out r.jsonl')).toThrow(expect.objectContaining({ code: 'INVALID_FILE', message: '--out r.jsonl: cannot write (no such directory)' }));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => checkWritable(join(file, 'r.jsonl'))).toThrow(/cannot write \(not in a directory\)/);
    expect(() => checkWritable(dir)).toThrow(/cannot write \(a directory\)/);
  });
});
