// How people write performance figures, as one grammar shared by documents and source code: numbers with
// thousands separators or decimal commas, k/K/M suffixes, bit and byte rates in every spelling, times,
// per-second counts, concurrent connections, and the words that qualify them (up to, at least, under, about,
// ranges, sub-millisecond, single-digit microseconds).

/** What a figure speaks of. */
export type Subject =
  | { kind: 'goodput'; direction: 'download' | 'upload' | 'bidir' | null }
  | { kind: 'packetRate' }
  | { kind: 'requestRate' }
  | { kind: 'handshakeRate' }
  /** A latency percentile p in [0, 1] (0 the smallest, 1 the largest), or the mean. */
  | { kind: 'latency'; p: number | 'mean'; of: 'round trip' | 'handshake' }
  | { kind: 'connections' };

/**
 * The claim's direction. lower: the figure is a lower bound (reaches X); upper: an upper bound (X at most);
 * about: X within a tolerance; range: between two figures; peak: the best run reaches X.
 */
export type Form = 'lower' | 'upper' | 'about' | 'range' | 'peak';

export interface Figure {
  /** 0-based offset in the text searched, and the figure as written (qualifier included). */
  index: number;
  text: string;
  subject: Subject;
  form: Form;
  /** In the subject's unit: bit/s, us, 1/s, or a count of connections. For a range, its low end. */
  value: number;
  high?: number;
}

// ---- numbers

/** A number as written: 1,234.5 / 1.234,5 / 3,5 / 12 345 (thin or no-break space) / 1.5. */
export const NUMBER = String.raw`\d{1,3}(?:[,\u00a0\u2009\u202f]\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+,\d+|\d+(?:[.,]\d+)?`;

/**
 * Reads a number written with thousands separators or a decimal comma: with both a point and a comma, the
 * later one is the decimal mark; a lone comma followed by exactly three digits (1,234) groups thousands,
 * otherwise (3,5) it is a decimal comma; several points (1.234.567) group thousands.
 */
function parseNumber(text: string): number {
  let s = text.replace(/[\u00a0\u2009\u202f]/g, '');
  const comma = s.lastIndexOf(',');
  const point = s.lastIndexOf('.');
  if (comma >= 0 && point >= 0) {
    s = comma > point ? s.replace(/\./g, '').replace(',', '.') : s.replace(/,/g, '');
  } else if (comma >= 0) {
    s = /^\d{1,3}(,\d{3})+$/.test(s) ? s.replace(/,/g, '') : s.replace(',', '.');
  } else if ((s.match(/\./g) ?? []).length > 1) {
    s = s.replace(/\./g, '');
  }
  return Number(s);
}

const SI: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const COUNT_SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, m: 1e6, thousand: 1e3, million: 1e6, billion: 1e9 };

// ---- units

const PER_SECOND = String.raw`(?:\s*\/\s*s(?:ec(?:ond)?)?\b|\s*(?:per|a)\s+sec(?:ond)?\b|ps\b)`;
/** Bits per second: 9.5 Gbit/s, 40Gbps, 10 Gb/s, 940 Mbits/sec, 2.5 gigabits per second. */
const BIT_RATE = String.raw`([kKMGT]?)(?:bit(?:s)?${PER_SECOND}|bps\b|b\/s\b|b\/sec\b)|(kilo|mega|giga|tera)bits?\s+per\s+second\b`;
/** Bytes per second: 1.2 GB/s, 900 MiB/s, 3 GBps, 100 MBytes/s, 2 gigabytes per second. */
const BYTE_RATE = String.raw`([kKMGT]i?)?(?:B(?:ytes?)?${PER_SECOND}|Bps\b|B\/sec\b)|(kilo|mega|giga|tera)bytes?\s+per\s+second\b|bytes?\s+per\s+second\b`;
const TIME = String.raw`(ns|nanoseconds?|us|µs|μs|microseconds?|ms|msec|milliseconds?|s|sec|seconds?)\b`;
const TIME_US: Record<string, number> = { ns: 1e-3, us: 1, 'µs': 1, 'μs': 1, ms: 1e3, msec: 1e3, s: 1e6, sec: 1e6 };

function timeUnitUs(unit: string): number {
  const u = unit.toLowerCase();
  if (u.startsWith('nano')) return 1e-3;
  if (u.startsWith('micro')) return 1;
  if (u.startsWith('milli')) return 1e3;
  if (u.startsWith('second')) return 1e6;
  return TIME_US[unit] ?? TIME_US[u];
}

const WORD_PREFIX: Record<string, number> = { kilo: 1e3, mega: 1e6, giga: 1e9, tera: 1e12 };

// ---- what a per-second count counts

const COUNTED = String.raw`(handshakes?|(?:new\s+)?connections?|conns?|requests?|reqs?|queries|transactions|round[- ]?trips|packets|pkts|messages|msgs)`;
const COUNT_ABBREV = String.raw`(RPS|QPS|TPS|CPS|HPS|PPS|Mpps|Kpps|kpps|pps|rps|qps|cps)\b`;

/** What a per-second count counts, from its unit as written ("handshakes per second", "RPS", "pps"). */
function countedSubject(unit: string): Subject | undefined {
  const w = unit.trim().toLowerCase();
  if (/^(handshake|(new\s+)?conn|cps\b|hps\b)/.test(w)) return { kind: 'handshakeRate' };
  if (/^(req|quer|trans|round|rps\b|qps\b|tps\b|msg|message)/.test(w)) return { kind: 'requestRate' };
  if (/^(packet|pkts|pps\b)/.test(w)) return { kind: 'packetRate' };
  return undefined;
}

// ---- qualifiers, read just before a figure

const BEFORE = {
  peak: /(?:\bup\s+to|\bpeaks?(?:\s+(?:of|at))?|\bmax(?:imum|\.)?(?:\s+of)?|\btops?\s+out\s+at|\bas\s+(?:high|fast|much)\s+as|\bbest(?:\s+case)?(?:\s+of)?)\s*(?:[:=]\s*)?$/i,
  lower: /(?:\bat\s+least|\bover|\babove|\bmore\s+than|\bgreater\s+than|\bexceed(?:s|ing)?|\bbeyond|\bin\s+excess\s+of|\bno\s+less\s+than|>=?|≥)\s*$/i,
  upper: /(?:\bunder|\bbelow|\bless\s+than|\blower\s+than|\bat\s+most|\bwithin|\bno\s+more\s+than|\bas\s+low\s+as|<=?|≤|\bsub-)\s*$/i,
  about: /(?:\babout|\baround|\bapproximately|\bapprox\.?|\broughly|~|≈|\bcirca|\bca\.|\bnearly|\balmost|\btypical(?:ly)?(?:\s+of)?|\bon\s+average|\baverag(?:e|ing)(?:\s+of)?)\s*$/i,
};

/** The qualifier right before a figure (within the same clause), and the form it gives. */
function qualifierBefore(text: string, index: number): { form: Form; start: number; word: string } | undefined {
  const window = text.slice(Math.max(0, index - 40), index);
  for (const form of ['peak', 'lower', 'upper', 'about'] as const) {
    const m = BEFORE[form].exec(window);
    if (m) return { form, start: index - window.length + m.index, word: m[0].trim().toLowerCase() };
  }
  return undefined;
}

// ---- latency context

const LATENCY_WORDS = /latenc|\brtts?\b|round[- ]?trips?|\bping|response\s+times?|\bp\d{2,4}(?:\.\d+)?\b|percentile|\bmedian\b|\btail\b|handshakes?\s+(?:times?|takes?|lasts?|duration|completes?\s+in|in|within|under)\b/i;
/** A time that is a handshake's, not a round trip's: "handshake latency", "handshakes complete in 1.3 ms". */
const HANDSHAKE_TIME = /handshakes?\s+(?:latenc|times?|takes?|lasts?|duration|completes?\s+in|in\b|within|under)/i;

interface Mention {
  index: number;
  end: number;
  p: number | 'mean';
}

/** Percentile mentions in a line: p99, P99, p99.9, p999, 99th percentile, 99.9th-percentile, median, mean, min, max. */
function percentileMentions(line: string): Mention[] {
  const out: Mention[] = [];
  const add = (re: RegExp, p: (m: RegExpExecArray) => number | 'mean') => {
    for (const m of line.matchAll(re)) out.push({ index: m.index ?? 0, end: (m.index ?? 0) + m[0].length, p: p(m as RegExpExecArray) });
  };
  add(/\b[pP](\d{2,4})(?:\.(\d+))?\b/g, (m) => {
    // p99 -> 0.99, p999 -> 0.999, p99.9 -> 0.999, p50 -> 0.5
    if (m[2] !== undefined) return Number(`0.${m[1]}${m[2]}`);
    return Number(`0.${m[1]}`);
  });
  add(/\b(\d{1,2}(?:\.\d+)?)(?:th|st|nd|rd)[- ]percentile\b/gi, (m) => Number(m[1]) / 100);
  add(/\b(?:median|typical(?:ly)?)\b/gi, () => 0.5);
  add(/\btail\b/gi, () => 0.99);
  add(/\b(?:mean|average|avg)\b/gi, () => 'mean');
  add(/\b(?:min(?:imum)?|best[- ]case|as\s+low\s+as)\b/gi, () => 0);
  add(/\b(?:max(?:imum)?|worst[- ]case)\b/gi, () => 1);
  return out.sort((a, b) => a.index - b.index);
}

/**
 * The percentile a latency figure speaks of: the one named right after it ("77 us at p99", "44 us (p99)"),
 * else the last one named before it ("p99 of 77 us"), else the median: an unqualified latency is the typical
 * one.
 */
function latencyPercentile(line: string, at: number, end: number): number | 'mean' {
  const mentions = percentileMentions(line);
  const after = mentions.find(
    (m) => m.index >= end && /^\s*(?:(?:latency|latencies|rtts?|round[- ]?trips?)\s+)?(?:\(|at\s+(?:the\s+)?|in\s+(?:the\s+)?)?$/i.test(line.slice(end, m.index)),
  );
  const before = mentions.filter((m) => m.end <= at).pop();
  return (after ?? before)?.p ?? 0.5;
}

function direction(line: string): 'download' | 'upload' | 'bidir' | null {
  if (/\bbi-?directional|\bbidir\b|both\s+directions/i.test(line)) return 'bidir';
  const up = /\bupload/i.test(line);
  const down = /\bdownload/i.test(line);
  return up && !down ? 'upload' : down && !up ? 'download' : null;
}

// ---- the figures of one line

interface Raw {
  index: number;
  end: number;
  value: number;
  /** Range: the low end's value and where it starts. */
  low?: { value: number; index: number };
  subject: Subject;
  /** A form fixed by the words themselves (sub-millisecond, single-digit microseconds, 10+). */
  form?: Form;
}

/**
 * A value and unit matcher: `NUMBER[+] unit`, optionally preceded by a low end as a range: `A-B unit`,
 * `A–B unit`, `A unit to B unit`, `between A and B unit` (the low end takes the high end's unit unless it has
 * its own).
 */
function rangeAware(unit: string): RegExp {
  return new RegExp(
    String.raw`(?:\b[Bb]etween\s+(?<lowA>${NUMBER})\s*(?:${unit})?\s+and\s+|(?<lowB>${NUMBER})\s*(?:${unit})?\s*(?:-|–|—|\bto\b)\s*)?(?<![\w.,])(?<high>${NUMBER})(?<plus>\+)?\s*(?:${unit})`,
    'gd',
  );
}

function rawFigures(line: string, context: string): Raw[] {
  const out: Raw[] = [];
  const dir = direction(context);
  // bit rates
  const bitScale = (unit: string) => {
    const word = /^(kilo|mega|giga|tera)bits?/i.exec(unit);
    return word ? WORD_PREFIX[word[1].toLowerCase()] : SI[/^([kKMGT]?)/.exec(unit)?.[1] ?? ''];
  };
  for (const m of line.matchAll(rangeAware(BIT_RATE))) push(out, m, line, bitScale, { kind: 'goodput', direction: dir });
  // byte rates, times 8
  const byteScale = (unit: string) => {
    const word = /^(kilo|mega|giga|tera)bytes?/i.exec(unit);
    if (word) return WORD_PREFIX[word[1].toLowerCase()] * 8;
    const prefix = /^([kKMGT]i?)?/.exec(unit)?.[1] ?? '';
    return (BINARY[prefix.replace(/^k/, 'K')] ?? SI[prefix] ?? 1) * 8;
  };
  for (const m of line.matchAll(rangeAware(BYTE_RATE))) push(out, m, line, byteScale, { kind: 'goodput', direction: dir });
  // per-second counts: 5,700 handshakes per second, 12k requests/s, 1M requests/s, 3 Mpps, 50k-100k RPS
  const COUNT_UNIT = String.raw`(?:thousand|million|billion|k|K|M|m)?\+?\s*(?:${COUNTED}${PER_SECOND}|${COUNT_ABBREV})`;
  for (const m of line.matchAll(rangeAware(COUNT_UNIT))) {
    const unitAt = (m as RegExpMatchArray & { indices: { groups: Record<string, [number, number]> } }).indices.groups.high[1];
    const unit = line.slice(unitAt, (m.index ?? 0) + m[0].length);
    const subject = countedSubject(/^\s*[MKk]pps\b/.test(unit) ? 'pps' : unit.replace(/^\s*(?:thousand|million|billion|k|K|M|m)?\+?\s*/, ''));
    if (!subject) continue;
    const scale = (u: string) => {
      if (/^\s*Mpps\b/.test(u)) return 1e6;
      if (/^\s*[Kk]pps\b/.test(u)) return 1e3;
      return COUNT_SUFFIX[/^\s*(thousand|million|billion|k|K|M|m)?/.exec(u)?.[1] ?? ''];
    };
    const before = out.length;
    push(out, m, line, scale, subject);
    if (out.length > before && /^\s*(?:thousand|million|billion|k|K|M|m)?\+/.test(unit)) out[out.length - 1].form = 'lower';
  }
  // concurrent connections: 100K concurrent connections, 10,000 simultaneous connections
  const connRe = new RegExp(String.raw`(?<![\w.,])(${NUMBER})\s*(thousand|million|k|K|M)?\+?\s*(?:concurrent|simultaneous|parallel|open)\s+(?:QUIC\s+)?connections\b`, 'g');
  for (const m of line.matchAll(connRe)) {
    out.push({ index: m.index ?? 0, end: (m.index ?? 0) + m[0].length, value: parseNumber(m[1]) * COUNT_SUFFIX[m[2] ?? ''], subject: { kind: 'connections' }, form: 'lower' });
  }
  // latencies: a time in a line that speaks of latency
  if (LATENCY_WORDS.test(context)) {
    const of = HANDSHAKE_TIME.test(context) && !/round[- ]?trip|\brtt|\bping/i.test(context) ? 'handshake' : 'round trip';
    // in a table cell the percentile comes from the headers (the last one they name)
    const percentile = (at: number, end: number) => (context === line ? latencyPercentile(line, at, end) : latencyPercentile(context, context.length, context.length));
    for (const m of line.matchAll(rangeAware(TIME))) {
      const at = m.index ?? 0;
      push(out, m, line, (unit) => timeUnitUs(/^([a-zA-Zµμ]+)/.exec(unit)?.[1] ?? ''), { kind: 'latency', p: percentile(at, at + m[0].length), of });
    }
    for (const m of line.matchAll(/\bsub-?(milli|micro|nano)second\b/gi)) {
      const value = { milli: 1000, micro: 1, nano: 0.001 }[m[1].toLowerCase() as 'milli' | 'micro' | 'nano'];
      const at = m.index ?? 0;
      out.push({ index: at, end: at + m[0].length, value, subject: { kind: 'latency', p: percentile(at, at + m[0].length), of }, form: 'upper' });
    }
    for (const m of line.matchAll(/\b(single|double)[- ]digit\s+(micro|milli)seconds?\b/gi)) {
      const unit = m[2].toLowerCase() === 'micro' ? 1 : 1000;
      const at = m.index ?? 0;
      const subject: Subject = { kind: 'latency', p: percentile(at, at + m[0].length), of };
      if (m[1].toLowerCase() === 'single') out.push({ index: at, end: at + m[0].length, value: 10 * unit, subject, form: 'upper' });
      else out.push({ index: at, end: at + m[0].length, value: 100 * unit, low: { value: 10 * unit, index: at }, subject, form: 'range' });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Adds a value-and-unit match (see `rangeAware`); `scaleOf` turns the unit as written into the subject's unit. */
function push(out: Raw[], m: RegExpMatchArray, line: string, scaleOf: (unit: string) => number | undefined, subject: Subject): void {
  const groups = (m as RegExpMatchArray & { indices: { groups: Record<string, [number, number] | undefined> } }).indices.groups;
  const index = m.index ?? 0;
  const end = index + m[0].length;
  const high = groups.high as [number, number];
  const highScale = scaleOf(line.slice(high[1], end).replace(/^\+/, '').trim());
  if (highScale === undefined) return;
  const raw: Raw = { index: high[0], end, value: parseNumber(line.slice(high[0], high[1])) * highScale, subject };
  if (groups.plus) raw.form = 'lower';
  const lowAt = groups.lowA ?? groups.lowB;
  if (lowAt) {
    const lowUnit = line.slice(lowAt[1], high[0]).replace(/\s*(?:-|–|—|\bto\b|\band\b)\s*$/i, '').trim();
    const low = parseNumber(line.slice(lowAt[0], lowAt[1])) * ((lowUnit && scaleOf(lowUnit)) || highScale);
    // "5-3 Gbps" is no range: keep the figure alone
    if (low <= raw.value) {
      raw.low = { value: low, index };
      raw.index = index;
      raw.form = 'range';
    }
  }
  out.push(raw);
}

/** The default direction of a subject's figure: rates and counts are lower bounds, latencies upper bounds. */
function defaultForm(subject: Subject): Form {
  return subject.kind === 'latency' ? 'upper' : 'lower';
}

/**
 * The figures in one line of prose (code already masked). `context` is the text the metric and its
 * qualifiers are read from (the line itself, or a table cell with its row and column headers).
 */
export function figuresIn(line: string, context: string = line): Figure[] {
  const figures: Figure[] = [];
  for (const raw of rawFigures(line, context)) {
    let form: Form = raw.form ?? defaultForm(raw.subject);
    let start = raw.low ? raw.low.index : raw.index;
    if (!raw.form || raw.form === 'lower') {
      const q = qualifierBefore(line, start);
      if (q) {
        start = q.start;
        if (q.form === 'peak') form = raw.subject.kind === 'latency' ? 'upper' : 'peak';
        else if (q.form === 'upper' && q.word === 'as low as' && raw.subject.kind === 'latency') form = 'peak';
        else form = q.form;
      } else if (raw.subject.kind === 'latency' && /\btypical(?:ly)?\b/i.test(line.slice(Math.max(0, start - 40), start))) {
        form = 'about';
      }
    }
    if (form === 'peak' && raw.subject.kind === 'latency' && raw.subject.p === 0.5) raw.subject = { ...raw.subject, p: 0 };
    if (raw.subject.kind === 'latency' && raw.subject.p === 1 && form === 'peak') form = 'upper';
    const figure: Figure = { index: start, text: line.slice(start, raw.end).trim(), subject: raw.subject, form, value: raw.low ? raw.low.value : raw.value };
    if (raw.low) figure.high = raw.value;
    // one figure per stretch of text: a byte rate is not also read as a bit rate, nor a range as two figures
    if (figures.some((f) => f.index <= raw.index && raw.index < f.index + f.text.length)) continue;
    figures.push(figure);
  }
  return figures;
}
