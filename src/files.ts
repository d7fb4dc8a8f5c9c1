// Files the CLI, the monitor and the stores write and read, through one place:
// - one read that names the file and why it failed;
// - one atomic write for whole documents (reports, baseline files): a temporary file beside the target,
//   every byte written (short writes continued, none taken for success), fsynced, then renamed over the
//   target (or linked, when an existing file must be refused), the directory fsynced; on any failure the
//   temporary file is removed and the target is left as it was;
// - one append for JSON lines (run records, alerts), under an exclusive lock so that concurrent writers add
//   whole lines and lose none; a failed append is cut back to the file's previous length.
// A write that fails is never reported as done: the error names the file and the reason in words.
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { StoqError, type ErrorCode } from './errors.js';

/** Reasons in words, by errno code. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'a directory',
  ENOTDIR: 'a path through something that is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENAMETOOLONG: 'file name too long',
  ELOCKED: 'locked by another writer for too long',
};

/** Failures of the device rather than of the path the user gave: runtime errors (`IO`), not usage errors. */
const DEVICE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'ELOCKED']);

/** Why a file operation failed, for people (`no such file`, `no space left on device`, or the errno code). */
function fsReason(error: unknown, missing = REASONS.ENOENT): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  return (code && REASONS[code]) ?? code ?? String(error);
}

/** A write failure as a StoqError: `IO` when the device failed (a full disk), `INVALID_FILE` when the path is wrong. */
function writeError(name: string, error: unknown): StoqError {
  if (error instanceof StoqError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const kind: ErrorCode = DEVICE_FAILURES.has(code) ? 'IO' : 'INVALID_FILE';
  return new StoqError(kind, `${name}: cannot write (${fsReason(error, 'no such directory')})`, { cause: error });
}

/**
 * Reads a text file. Any failure is an `INVALID_FILE` error naming the file (`name`, default its path) and
 * the reason: `runs.jsonl: cannot read (no such file)`.
 */
export function readTextFile(path: string, name = path): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new StoqError('INVALID_FILE', `${name}: cannot read (${fsReason(error)})`, { cause: error });
  }
}

/**
 * Checks, without creating anything, that `path` could be written: an existing regular file we may write,
 * or a new file in a directory we may write. Throws `INVALID_FILE` naming the file otherwise, so a command
 * refuses before it measures rather than after.
 */
export function checkWritable(path: string, name = path): void {
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
      accessSync(path, constants.W_OK);
    } else {
      if (!statSync(dirname(path)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      accessSync(dirname(path), constants.W_OK | constants.X_OK);
    }
  } catch (error) {
    throw new StoqError('INVALID_FILE', `${name}: cannot write (${fsReason(error, 'no such directory')})`, { cause: error });
  }
}

/** Writes every byte of `bytes` to `fd` (a short write is continued; a write that makes no progress fails). */
function writeAll(fd: number, bytes: Buffer): void {
  for (let written = 0; written < bytes.length; ) {
    const n = writeSync(fd, bytes, written, bytes.length - written);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    written += n;
  }
}

/**
 * Writes `text` to `path` atomically: a reader sees the old file or the new one, never a part. `replace:
 * false` refuses an existing file (also one that appears while writing: the new file is linked into place,
 * which fails rather than replace it). An existing file's permissions are kept. Any failure is a StoqError
 * naming the file (`name`, default its path): `IO` when the device failed (`--out r.md: cannot write (no
 * space left on device)`), `INVALID_FILE` when the path is wrong (`(no such directory)`); the file that was
 * there is left as it was and no temporary file remains.
 */
export function writeFileAtomic(path: string, text: string, options: { replace?: boolean; name?: string } = {}): void {
  const name = options.name ?? path;
  const replace = options.replace ?? true;
  const exists = () => new StoqError('INVALID_ARGUMENT', `${name}: the file exists (use --force to replace it)`);
  if (!replace && existsSync(path)) throw exists();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  let placed = false;
  try {
    fd = openSync(tmp, 'wx');
    if (replace && existsSync(path)) fchmodSync(fd, statSync(path).mode & 0o7777);
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (replace) renameSync(tmp, path);
    else linkSync(tmp, path);
    placed = true;
    if (!replace) unlinkSync(tmp);
    syncDirectory(dirname(path));
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    removeQuietly(tmp);
    if (!placed && (error as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
    throw writeError(name, error);
  }
}

/**
 * Appends `text` (whole lines; a final newline is added when missing) to `path`, creating it when absent,
 * under an exclusive lock (`PATH.lock`, a directory: proper-lockfile, which works on local and network file
 * systems): concurrent writers, in this process or others, add whole lines one after another and lose none.
 * A file whose last line lacks its newline gets one first, so no two lines run together. Every byte is
 * written and fsynced before it returns; on any failure the file is cut back to its previous length (a new
 * file is removed) and a StoqError names the file, as in writeFileAtomic. Waits up to about 30 s for the lock.
 */
export async function appendLines(path: string, text: string, options: { name?: string } = {}): Promise<void> {
  const name = options.name ?? path;
  const lines = text.endsWith('\n') ? text : `${text}\n`;
  let release: (() => Promise<void>) | undefined;
  let fd: number | undefined;
  let before = 0;
  let created = false;
  try {
    if (existsSync(path) && statSync(path).isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    if (!existsSync(dirname(path))) throw Object.assign(new Error('no such directory'), { code: 'ENOENT' });
    // loaded when first needed: it hooks process exit and signals to remove its locks, which only the
    // commands that append need (a command that finishes on its own keeps the signals' default action)
    const { lock } = await import('proper-lockfile');
    release = await lock(path, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 60, factor: 1.3, minTimeout: 5, maxTimeout: 1000, randomize: true },
      // The lock is held for one write and an fsync; its mtime is refreshed meanwhile. A lock found stale is
      // taken over by the library; nothing is thrown from its timer here.
      onCompromised: () => {},
    }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ELOCKED' ? Object.assign(new Error('locked'), { code: 'ELOCKED' }) : error;
    });
    // opened under the lock: every writer appends to the same file, the one now at `path`
    created = !existsSync(path);
    fd = openSync(path, 'a+');
    before = fstatSync(fd).size;
    let prefix = '';
    if (before > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, before - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeAll(fd, Buffer.from(prefix + lines, 'utf8'));
    fsyncSync(fd);
    if (created) syncDirectory(dirname(path));
  } catch (error) {
    if (fd !== undefined) {
      try {
        ftruncateSync(fd, before);
        fsyncSync(fd);
      } catch {
        // the error below is what matters
      }
      if (created) removeQuietly(path);
    }
    throw writeError(name, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
    await release?.().catch(() => {});
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}

/** Makes a rename or a new name in `dir` durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
