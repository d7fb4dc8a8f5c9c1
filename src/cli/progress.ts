// Live progress of a long run on a terminal: one line on stderr, redrawn in place with \r (stdout keeps only
// the data: interval lines, summaries, or JSON records). Shown only when io.isTTY; colour only when io.color
// (a TTY and NO_COLOR unset). Elapsed time is the wall clock since the run started; the time left is exact
// for a duration-bound run and estimated from the rate so far for a bytes- or count-bound one.
import type { IntervalRecord } from '../record.js';
import type { Scenario } from '../scenario.js';
import type { Io } from './command.js';
import { KINDS } from '../kinds.js';

/** How many times a scenario's `bytes` cross the link: once per direction its kind sends them. */
const directions = (kind: Scenario['kind']) => Number(KINDS[kind].bytes?.sent ?? false) + Number(KINDS[kind].bytes?.received ?? false);

const BAR = 20;

export interface ProgressOptions {
  /** 1-based run number and the number of runs, shown as "run 2/5" when there are several. */
  run?: number;
  runs?: number;
  /** Redraw period, ms (between intervals the elapsed time keeps moving). Default 250. */
  tickMs?: number;
  /** Clock in ms (tests). Default performance.now. */
  now?: () => number;
}

/** What a run has done so far, as its intervals report it. */
interface Done {
  bytes: number;
  completed: number;
  measuredS: number;
}

/** Formats seconds as "4.2 s", "3 m 05 s" or "1 h 02 m". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)} m ${String(total % 60).padStart(2, '0')} s`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} m`;
}

export class Progress {
  private readonly now: () => number;
  private readonly startedMs: number;
  private readonly done: Done = { bytes: 0, completed: 0, measuredS: 0 };
  private timer: NodeJS.Timeout | undefined;
  private width = 0;
  private stopped = false;

  /** A progress line for `scenario`, or undefined when io is not a terminal (nothing is ever drawn then). */
  static start(io: Io, scenario: Scenario, options: ProgressOptions = {}): Progress | undefined {
    if (!io.isTTY) return undefined;
    const p = new Progress(io, scenario, options);
    p.draw();
    p.timer = setInterval(() => p.draw(), options.tickMs ?? 250);
    p.timer.unref();
    return p;
  }

  private constructor(
    private readonly io: Io,
    private readonly scenario: Scenario,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedMs = this.now();
  }

  /** Counts an interval (call before printing its line; the progress line is cleared and redrawn around it). */
  interval(i: IntervalRecord): void {
    this.done.bytes += i.bytesSent + i.bytesReceived;
    this.done.completed += i.completed;
    this.done.measuredS = i.endS;
  }

  /** Writes a data line on stdout without tearing the progress line. */
  print(write: () => void): void {
    this.clear();
    write();
    this.draw();
  }

  /** The progress line's text (no control characters). */
  line(): string {
    const elapsedS = (this.now() - this.startedMs) / 1e3;
    const { fraction, leftS } = this.estimate(elapsedS);
    const runs = this.options.runs ?? 1;
    const label = runs > 1 ? `run ${this.options.run ?? 1}/${runs} ` : '';
    const filled = fraction === undefined ? 0 : Math.round(Math.min(1, fraction) * BAR);
    const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${Math.floor(Math.min(1, fraction) * 100)}% `;
    return `${label}${bar}${formatSeconds(elapsedS)} elapsed, ${leftS === undefined ? '?' : formatSeconds(leftS)} left`;
  }

  private estimate(elapsedS: number): { fraction?: number; leftS?: number } {
    const s = this.scenario;
    if (s.durationNs !== undefined) {
      const totalS = s.durationNs / 1e9;
      return { fraction: elapsedS / totalS, leftS: Math.max(0, totalS - elapsedS) };
    }
    const { total, done } =
      s.bytes !== undefined
        ? { total: s.bytes * directions(s.kind), done: this.done.bytes }
        : s.count !== undefined
          ? { total: s.count, done: this.done.completed }
          : { total: 0, done: 0 };
    if (total <= 0 || done <= 0 || this.done.measuredS <= 0) return {};
    const fraction = Math.min(1, done / total);
    const rate = done / this.done.measuredS;
    return { fraction, leftS: Math.max(0, (total - done) / rate - (elapsedS - this.done.measuredS)) };
  }

  private draw(): void {
    if (this.stopped) return;
    let text = this.line();
    const pad = Math.max(0, this.width - text.length);
    this.width = text.length;
    if (this.io.color) text = `\x1b[36m${text}\x1b[0m`;
    this.io.stderr(`\r${text}${' '.repeat(pad)}`);
  }

  /** Erases the progress line (the cursor returns to column 0). */
  clear(): void {
    if (this.width === 0) return;
    this.io.stderr(`\r${' '.repeat(this.width)}\r`);
    this.width = 0;
  }

  /** Stops redrawing and erases the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
    this.stopped = true;
  }
}
