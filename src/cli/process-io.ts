// The real process's streams and signals, taken before anything else loads (bin/stoq-bench.js), so that a
// signal arriving while the CLI starts still ends it cleanly.
// - stdout and stderr are written synchronously, every byte (a full pipe is waited for): a line is whole
//   once io.stdout returns, and nothing is left buffered at exit;
// - when stdout's reader goes away (EPIPE: `| head -1` has what it wanted), later lines are dropped and
//   counted, and `stdoutClosed` aborts: a client command stops as on a signal, after writing what it
//   measured to --out and the history, and exits 141 (128 + SIGPIPE, the shell convention); a server keeps
//   serving. A closed stderr is ignored (there is nowhere left to say anything);
// - the first SIGINT or SIGTERM aborts `signal` (the command stops and writes what it measured); a second
//   does not interrupt that (it says so on stderr); a third exits at once, between two writes, with what is
//   already written (no write is ever cut: writes are synchronous and signal handlers run between them).
//   A command that finishes on its own gives the signals back their default action (`releaseSignals`).
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { OutputClosed, SignalCancel, type Io } from './command.js';

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/** A wait of `ms` that blocks the thread (a full non-blocking pipe is retried after it). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Writes all of `text` to `fd`; throws the errno error (EPIPE when the reader is gone). */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(fd, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      pause(2);
    }
  }
}

/** The process's Io: see the header. */
export function processIo(): Io {
  const signals = new AbortController();
  const closed = new AbortController();
  let dropped = 0;
  let lastDropped: string | undefined;
  let stderrOpen = true;
  const stderr = (text: string) => {
    if (!stderrOpen) return;
    try {
      writeAllSync(2, text);
    } catch {
      stderrOpen = false;
    }
  };
  let received = 0;
  const onSignal = (signal: keyof typeof SIGNAL_NUMBERS) => {
    received++;
    if (received === 1) signals.abort(new SignalCancel(signal));
    else if (received === 2) stderr(`stoq-bench: ${signal} again: still writing what was measured (a third signal exits at once)\n`);
    else {
      stderr(`stoq-bench: ${signal}: exiting at once; what was written so far is complete, a run still in progress is not written\n`);
      process.exit(128 + SIGNAL_NUMBERS[signal]);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const isTTY = isatty(1);
  return {
    stdout(text) {
      if (closed.signal.aborted) {
        dropped++;
        lastDropped = text;
        return;
      }
      try {
        writeAllSync(1, text);
      } catch (error) {
        dropped++;
        lastDropped = text;
        closed.abort(new OutputClosed((error as NodeJS.ErrnoException).code ?? String(error)));
      }
    },
    stderr,
    isTTY,
    color: isTTY && !process.env.NO_COLOR,
    signal: signals.signal,
    releaseSignals() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
    stdoutClosed: closed.signal,
    dropped: () => ({ lines: dropped, last: lastDropped }),
  };
}
