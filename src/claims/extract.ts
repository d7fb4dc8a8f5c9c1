// Finds quantitative performance claims in documents (Markdown or text): in prose, and in tables whose row
// or column header names the metric. Commands and code (fenced or indented code blocks, inline `code`, HTML
// comments) are not claims: they are how to measure, not what was measured.
import { figuresIn, NUMBER, type Figure, type Form, type Subject } from './figures.js';

export type { Form, Subject } from './figures.js';

export interface Claim {
  source: string;
  /** 1-based line and column of the figure. */
  line: number;
  column: number;
  /** The figure as written ("9.5 Gbit/s", "1-3 Gbps", "sub-millisecond"). */
  text: string;
  /** The figure with the words that qualify it ("up to 10 Gbit/s", "under 2 ms"). */
  phrase: string;
  /** What it is about, as an id: goodput, packetRate, requestRate, handshakeRate, connections, latencyP99, handshakeLatencyP50, latencyMean... */
  metric: string;
  subject: Subject;
  form: Form;
  /** The claimed value in the subject's unit (bit/s, us, 1/s, connections); for a range, its low end. */
  value: number;
  /** A range's high end. */
  high?: number;
  /** Where it was read: running text or a table cell. */
  where: 'prose' | 'table';
}

/** The id of what a figure speaks of: `goodput`, `latencyP99`, `handshakeLatencyP50`, `latencyP999`, `latencyMean`. */
function metricId(subject: Subject): string {
  if (subject.kind !== 'latency') return subject.kind;
  const p = subject.p;
  const name = p === 'mean' ? 'Mean' : p === 0 ? 'Min' : p === 1 ? 'Max' : `P${String(+(p * 100).toFixed(4)).replace('.', '')}`;
  return `${subject.of === 'handshake' ? 'handshakeLatency' : 'latency'}${name}`;
}

/** Blanks out what is code in one Markdown line (inline code spans, HTML comments), keeping offsets. */
function maskInline(line: string): string {
  return line
    .replace(/(`+)[\s\S]*?\1/g, (code) => ' '.repeat(code.length))
    .replace(/<!--[\s\S]*?-->/g, (c) => ' '.repeat(c.length));
}

interface Cell {
  text: string;
  offset: number;
}

/** The cells of a table row, with their offsets in the line (escaped pipes stay in the cell). */
function cells(line: string): Cell[] {
  const out: Cell[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || (line[i] === '|' && line[i - 1] !== '\\')) {
      out.push({ text: line.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  // the outer pipes leave empty cells at both ends
  if (out.length > 1 && out[0].text.trim() === '') out.shift();
  if (out.length > 1 && out[out.length - 1].text.trim() === '') out.pop();
  return out;
}

const SEPARATOR = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const BARE = new RegExp(String.raw`^\s*(?:~|≈|<=?|>=?|≤|≥|about|up to|at least|under|over)?\s*(${NUMBER})\s*(?:k|K|M)?\+?\s*$`, 'i');

/** The unit a header names: inside parentheses or brackets ("Goodput (Gbit/s)"), else the header itself. */
function headerUnit(header: string): string {
  const m = /\(([^)]*)\)|\[([^\]]*)\]/.exec(header);
  return (m?.[1] ?? m?.[2] ?? header).trim();
}

/** Claims in one document. */
export function extractClaims(text: string, source: string): Claim[] {
  const claims: Claim[] = [];
  const lines = text.split(/\r?\n/);
  let fence: string | null = null;
  let comment = false;
  let previousBlank = true;
  let inList = false;
  let inIndentedCode = false;
  let table: { headers: Cell[] } | null = null;
  const add = (figure: Figure, lineNo: number, column: number, where: Claim['where'], text?: string) => {
    const written = text ?? figure.text;
    claims.push({
      source,
      line: lineNo,
      column,
      text: written.replace(/^(?:up\s+to|peaks?(?:\s+(?:of|at))?|max(?:imum|\.)?(?:\s+of)?|at\s+least|over|above|more\s+than|under|below|less\s+than|at\s+most|within|about|around|approximately|approx\.?|roughly|nearly|almost|typical(?:ly)?|~|≈|<=?|>=?|≤|≥)\s*/i, ''),
      phrase: written,
      metric: metricId(figure.subject),
      subject: figure.subject,
      form: figure.form,
      value: figure.value,
      ...(figure.high !== undefined ? { high: figure.high } : {}),
      where,
    });
  };
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const fenceMark = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (fence !== null) {
      if (fenceMark && fenceMark[1][0] === fence[0] && fenceMark[1].length >= fence.length) fence = null;
      return;
    }
    if (fenceMark) {
      fence = fenceMark[1];
      table = null;
      return;
    }
    // HTML comments spanning lines
    let line = raw;
    if (comment) {
      const close = line.indexOf('-->');
      if (close < 0) return;
      line = ' '.repeat(close + 3) + line.slice(close + 3);
      comment = false;
    }
    const open = line.lastIndexOf('<!--');
    if (open >= 0 && line.indexOf('-->', open) < 0) {
      line = line.slice(0, open);
      comment = true;
    }
    const blank = line.trim() === '';
    // an indented code block: four spaces or a tab after a blank line, outside a list
    if (/^( {4}|\t)/.test(line) && !blank && (inIndentedCode || (previousBlank && !inList))) {
      inIndentedCode = true;
      previousBlank = false;
      return;
    }
    if (!blank) inIndentedCode = false;
    if (/^\s{0,3}([-*+]|\d+[.)])\s/.test(line)) inList = true;
    else if (blank) {
      // a list ends at a blank line followed by an unindented line (checked on that line)
    } else if (!/^\s/.test(line)) inList = false;
    previousBlank = blank;
    if (blank) {
      table = null;
      return;
    }
    const masked = maskInline(line);
    // tables: a header row, then a separator row
    const next = lines[index + 1];
    if (!table && masked.includes('|') && next !== undefined && SEPARATOR.test(next)) {
      table = { headers: cells(masked) };
      for (const c of table.headers) for (const f of figuresIn(c.text)) add(f, lineNo, c.offset + f.index + 1, 'table');
      return;
    }
    if (table && SEPARATOR.test(masked)) return;
    if (table && masked.includes('|')) {
      const row = cells(masked);
      const label = row[0]?.text ?? '';
      row.forEach((c, j) => {
        const header = table!.headers[j]?.text ?? '';
        const context = `${header} | ${j > 0 ? label : ''} | ${c.text}`;
        const found = figuresIn(c.text, context);
        for (const f of found) add(f, lineNo, c.offset + f.index + 1, 'table');
        if (found.length > 0 || j === 0) return;
        // a bare number: its unit comes from the column header, else the row header
        const bare = BARE.exec(c.text);
        if (!bare) return;
        for (const unitSource of [header, label]) {
          const synthetic = `${c.text.trim()} ${headerUnit(unitSource)}`;
          const figures = figuresIn(synthetic, `${header} | ${label} | ${synthetic}`).filter((f) => f.index === 0);
          if (figures.length > 0) {
            const start = c.offset + c.text.search(/\S/);
            add(figures[0], lineNo, start + 1, 'table', c.text.trim());
            return;
          }
        }
      });
      return;
    }
    table = null;
    for (const f of figuresIn(masked)) add(f, lineNo, f.index + 1, 'prose');
  });
  return claims;
}
