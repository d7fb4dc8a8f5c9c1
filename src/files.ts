// Files the CLI and the stores read and write: one read that names the file and why it failed, and one
// atomic write (a temporary file beside the target, every byte written, fsynced, renamed over the target,
// the directory fsynced; the temporary file removed on failure), so a reader never sees half a file.
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoqError } from './errors.js';

/** Why a file operation failed, for people (`no such file`, `a directory`, `permission denied`, or the errno code). */
function fsReason(error: unknown, missing = 'no such file'): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EISDIR') return 'a directory';
  if (code === 'ENOTDIR') return 'not in a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? String(error);
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
 * Writes `text` to `path` atomically. `replace: false` refuses an existing file. Any failure is an
 * `INVALID_FILE` error naming the file (`name`, default its path): `--out r.md: cannot write (no such directory)`.
 */
export function writeFileAtomic(path: string, text: string, options: { replace?: boolean; name?: string } = {}): void {
  const name = options.name ?? path;
  if (options.replace === false && existsSync(path)) throw new StoqError('INVALID_ARGUMENT', `${name} exists (use --force to replace it)`);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    const bytes = Buffer.from(text, 'utf8');
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    syncDirectory(dirname(path));
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new StoqError('INVALID_FILE', `${name}: cannot write (${fsReason(error, 'no such directory')})`, { cause: error });
  }
}

/**
 * Checks, before any work is done, that `writeFileAtomic(path)` could write: its directory exists and is
 * writable, and `path` is not a directory. Creates nothing. A failure is the `INVALID_FILE` error the write
 * would give.
 */
export function checkWritable(path: string, name = path): void {
  try {
    const dir = dirname(path);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
    if (existsSync(path) && statSync(path).isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
  } catch (error) {
    throw new StoqError('INVALID_FILE', `${name}: cannot write (${fsReason(error, 'no such directory')})`, { cause: error });
  }
}

/** Makes a rename in `dir` durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
