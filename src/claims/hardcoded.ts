// Hard-coded figures in source code: numeric literals bound to performance names (`throughput_gbps: 2.95`,
// `TARGET_LATENCY_MS = 1`, `#define MAX_PPS 1000000`) and performance figures written in strings
// (`"40 Gbps"`), reported with file and line so a CI job can keep assumed numbers out of production code.
// Comments and tests are told apart from production code; a line holding `stoq-bench: allow-figure` (or the
// line before it) is left alone.
import { extname } from 'node:path';
import { figuresIn } from './figures.js';

const SOURCE_EXTENSIONS = ['.rs', '.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.go', '.py', '.c', '.h', '.cc', '.cpp', '.cxx', '.hpp', '.java'];

export function isSourceFile(path: string): boolean {
  return SOURCE_EXTENSIONS.includes(extname(path).toLowerCase());
}

export interface Finding {
  source: string;
  line: number;
  column: number;
  /** The text found: `throughput_gbps: 2.95`, `"40 Gbps"`. */
  text: string;
  kind: 'literal' | 'string';
  /** The name the literal is bound to, or the figure a string holds. */
  name: string;
  value: number;
  /** Production code, a comment, or a test. */
  where: 'code' | 'comment' | 'test';
}

/** Words that make a name a performance figure (split from camelCase, snake_case, SCREAMING_CASE). */
const PERF_WORDS = new Set([
  'throughput', 'goodput', 'bandwidth', 'latency', 'latencies', 'rtt', 'gbps', 'mbps', 'kbps', 'bps', 'tbps', 'gbit', 'gbits', 'mbit',
  'mbits', 'pps', 'mpps', 'kpps', 'rps', 'qps', 'tps', 'cps', 'hps', 'iops', 'p50', 'p90', 'p95', 'p99', 'p999', 'percentile',
  'handshakes', 'gibps', 'mibps',
]);
/** Words that make such a name something else: a count, a size, an index. */
const NOT_FIGURE = new Set([
  'count', 'counts', 'samples', 'sample', 'buckets', 'bucket', 'index', 'idx', 'len', 'length', 'size', 'capacity', 'digits', 'precision',
  'id', 'version', 'seed', 'bins', 'columns', 'width', 'height', 'retries', 'threads', 'workers', 'n', 'num', 'key', 'field', 'column',
]);

/** Splits an identifier into lower-case words. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** A name a performance figure would be bound to. */
export function isPerformanceName(name: string): boolean {
  const words = nameWords(name);
  if (words.some((w) => NOT_FIGURE.has(w))) return false;
  if (words.some((w) => PERF_WORDS.has(w))) return true;
  // requests_per_second, HANDSHAKES_PER_SEC, packetsPerSecond
  const per = words.indexOf('per');
  return per > 0 && ['sec', 'second', 's'].includes(words[per + 1] ?? '') && /^(requests?|handshakes?|packets?|connections?|queries|messages|ops|operations|transactions)$/.test(words[per - 1]);
}

type Family = 'c' | 'python';

interface Span {
  start: number;
  end: number;
  text: string;
}

interface LexedLine {
  /** The line with strings and comments blanked (offsets kept). */
  code: string;
  strings: Span[];
  comments: Span[];
}

/** Splits each line into code, string literals and comments (a small lexer, good enough for figures). */
function lex(text: string, family: Family): LexedLine[] {
  const lines = text.split(/\r?\n/);
  const out: LexedLine[] = [];
  let block: null | { kind: 'comment' | 'string'; close: string; start: number; text: string; doc: boolean } = null;
  for (const line of lines) {
    const code = line.split('');
    const strings: Span[] = [];
    const comments: Span[] = [];
    let i = 0;
    const blank = (from: number, to: number) => {
      for (let k = from; k < to; k++) code[k] = ' ';
    };
    if (block) block.start = 0;
    while (i < line.length) {
      if (block) {
        const close = line.indexOf(block.close, i);
        const end = close < 0 ? line.length : close + block.close.length;
        const span = { start: block.start, end, text: line.slice(block.start, close < 0 ? line.length : close) };
        (block.kind === 'comment' || block.doc ? comments : strings).push(span);
        blank(block.start, end);
        i = end;
        if (close >= 0) block = null;
        else break;
        continue;
      }
      const rest = line.slice(i);
      if (family === 'c' && rest.startsWith('//')) {
        comments.push({ start: i + 2, end: line.length, text: line.slice(i + 2) });
        blank(i, line.length);
        break;
      }
      if (family === 'python' && rest.startsWith('#')) {
        comments.push({ start: i + 1, end: line.length, text: line.slice(i + 1) });
        blank(i, line.length);
        break;
      }
      if (family === 'c' && rest.startsWith('/*')) {
        block = { kind: 'comment', close: '*/', start: i + 2, text: '', doc: false };
        blank(i, i + 2);
        i += 2;
        continue;
      }
      if (family === 'python' && (rest.startsWith('"""') || rest.startsWith("'''"))) {
        // a docstring (a string that starts a statement) is documentation, like a comment
        const doc = line.slice(0, i).trim() === '';
        block = { kind: 'string', close: rest.slice(0, 3), start: i + 3, text: '', doc };
        blank(i, i + 3);
        i += 3;
        continue;
      }
      const raw = family === 'c' ? /^r(#*)"/.exec(rest) : null;
      if (raw && !/\w/.test(line[i - 1] ?? '')) {
        // a Rust raw string r"..." / r#"..."#
        block = { kind: 'string', close: `"${raw[1]}`, start: i + raw[0].length, text: '', doc: false };
        blank(i, i + raw[0].length);
        i += raw[0].length;
        continue;
      }
      const c = line[i];
      if (c === '`' && family === 'c') {
        block = { kind: 'string', close: '`', start: i + 1, text: '', doc: false };
        blank(i, i + 1);
        i += 1;
        continue;
      }
      if (c === '"' || c === "'") {
        // a Rust lifetime or label ('a, 'static) is no string
        if (c === "'" && family === 'c' && /^'[A-Za-z_]\w*(?!')/.test(rest) && !/^'.'/.test(rest)) {
          i += 1;
          continue;
        }
        let k = i + 1;
        while (k < line.length && line[k] !== c) k += line[k] === '\\' ? 2 : 1;
        strings.push({ start: i + 1, end: Math.min(k, line.length), text: line.slice(i + 1, Math.min(k, line.length)) });
        blank(i, Math.min(k + 1, line.length));
        i = k + 1;
        continue;
      }
      i += 1;
    }
    out.push({ code: code.join(''), strings, comments });
  }
  return out;
}

const NUMBER_LITERAL = String.raw`(\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)(?:_?(?:f32|f64|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|isize|[fFlLdDuU]{1,2}))?\b`;
/** `name = 2.95`, `name: f64 = 2.95`, `name := 2.95`, `name: 2.95`, `"name": 2.95`, `#define NAME 2.95`. */
const BINDINGS = [
  new RegExp(String.raw`(?<![\w.])([A-Za-z_]\w*)\s*(?::\s*[\w<>\[\]&' ]+?)?\s*(?::=|(?<![=!<>])=(?![=>]))\s*-?\s*${NUMBER_LITERAL}`, 'g'),
  new RegExp(String.raw`(?<![\w.?])([A-Za-z_]\w*)\s*:\s*-?\s*${NUMBER_LITERAL}(?!\s*[?:])`, 'g'),
  new RegExp(String.raw`#\s*define\s+([A-Za-z_]\w*)\s+\(?\s*${NUMBER_LITERAL}`, 'g'),
];
const QUOTED_KEY = new RegExp(String.raw`(["'])([A-Za-z_][\w-]*)\1\s*:\s*-?\s*${NUMBER_LITERAL}`, 'g');

/** Test code: by path, or inside a Rust `#[cfg(test)]` / `#[test]` item. */
export function isTestPath(path: string): boolean {
  const p = path.replace(/\\/g, '/');
  return (
    /(^|\/)(tests?|__tests__|__mocks__|specs?|testdata|testing|fixtures)\//.test(p) ||
    /[._-](test|spec)s?\.[A-Za-z]+$/.test(p) ||
    /_test\.go$/.test(p) ||
    /(^|\/)test_[^/]*\.py$/.test(p) ||
    /(^|\/)conftest\.py$/.test(p) ||
    /Tests?\.java$/.test(p) ||
    /(^|\/)src\/test\//.test(p)
  );
}

const ALLOW = /stoq-bench:\s*allow-figure/;

/** Hard-coded performance figures in one source file. */
export function findHardcoded(text: string, source: string): Finding[] {
  const family: Family = extname(source).toLowerCase() === '.py' ? 'python' : 'c';
  const lexed = lex(text, family);
  const testFile = isTestPath(source);
  const findings: Finding[] = [];
  // brace depth where a Rust test item started; everything until it closes is test code
  let depth = 0;
  let testUntil: number | null = null;
  let testPending = false;
  const rawLines = text.split(/\r?\n/);
  lexed.forEach((l, index) => {
    const lineNo = index + 1;
    // the marker on the line itself, or alone (a comment line) on the line before
    const allowed = ALLOW.test(rawLines[index] ?? '') || (ALLOW.test(rawLines[index - 1] ?? '') && (lexed[index - 1]?.code.trim() ?? '') === '');
    if (/#\[\s*(cfg\s*\(\s*test\s*\)|test|tokio::test)\s*\]/.test(l.code + (rawLines[index] ?? ''))) testPending = true;
    const inTest = testFile || testUntil !== null || testPending;
    const push = (f: Omit<Finding, 'source' | 'line' | 'where'>, comment: boolean) => {
      if (allowed) return;
      findings.push({ ...f, source, line: lineNo, where: inTest ? 'test' : comment ? 'comment' : 'code' });
    };
    const bindings = (code: string, offset: number, comment: boolean) => {
      const seen = new Set<number>();
      for (const re of BINDINGS) {
        for (const m of code.matchAll(re)) {
          const at = (m.index ?? 0) + offset;
          const value = Number(m[2].replace(/_/g, ''));
          if (seen.has(at) || !isPerformanceName(m[1]) || value === 0 || !Number.isFinite(value)) continue;
          seen.add(at);
          push({ column: at + 1, text: m[0].trim(), kind: 'literal', name: m[1], value }, comment);
        }
      }
    };
    bindings(l.code, 0, false);
    // quoted keys ("throughput_gbps": 2.95) are strings followed by a number in the code
    for (const s of l.strings) {
      const after = l.code.slice(s.end + 1);
      const m = new RegExp(String.raw`^\s*:\s*-?\s*${NUMBER_LITERAL}`).exec(after);
      const value = m ? Number(m[1].replace(/_/g, '')) : 0;
      if (m && isPerformanceName(s.text) && value !== 0) push({ column: s.start, text: `"${s.text}"${m[0]}`.trim(), kind: 'literal', name: s.text, value }, false);
      for (const f of figuresIn(s.text)) push({ column: s.start + f.index + 1, text: `"${f.text}"`, kind: 'string', name: f.text, value: f.value }, false);
    }
    for (const c of l.comments) {
      bindings(c.text, c.start, true);
      for (const m of c.text.matchAll(QUOTED_KEY)) {
        const value = Number(m[3].replace(/_/g, ''));
        if (isPerformanceName(m[2]) && value !== 0) push({ column: c.start + (m.index ?? 0) + 1, text: m[0], kind: 'literal', name: m[2], value }, true);
      }
      for (const f of figuresIn(c.text)) push({ column: c.start + f.index + 1, text: f.text, kind: 'string', name: f.text, value: f.value }, true);
    }
    for (const ch of l.code) {
      if (ch === '{') {
        if (testPending && testUntil === null) {
          testUntil = depth;
          testPending = false;
        }
        depth++;
      } else if (ch === '}') {
        depth--;
        if (testUntil !== null && depth === testUntil) testUntil = null;
      } else if (ch === ';' && testPending && testUntil === null) {
        testPending = false; // `#[cfg(test)] use ...;`
      }
    }
  });
  return findings;
}
