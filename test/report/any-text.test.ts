// Every renderer, given any text where text comes from outside (file names, titles, a peer's close reason
// in an error message, ids and reasons read from a comparison or validation file, a monitored target), still
// writes output that its reader parses, with no markup added, and shows the text. Checked over arbitrary
// Unicode strings (fast-check), lone surrogates, controls and each format's syntax included, with real
// parsers: saxes for JUnit XML, parse5 for HTML, micromark with GitHub's tables for Markdown,
// parse-prometheus-text-format for Prometheus' exposition format.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { visible } from '../../src/escape.js';
import type { Validation } from '../../src/grading/validate.js';
import { MonitorMetrics } from '../../src/monitor/metrics.js';
import type { RunRecord } from '../../src/record.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { ComparisonReport, ReportInput } from '../../src/report/model.js';
import { summary } from '../../src/report/text.js';
import { createRng } from '../../src/stats/rng.js';
import { cli } from '../helpers.js';
import { fakeSession } from '../stats/make-records.js';
import { mdNodes, mdTables, mdText, parseHtml, parseMarkdown, parsePrometheusText, parseXml, xmlElements, type MdNode } from './parsers.js';

/** Text of any code points (lone surrogates included), and text made of each format's syntax. */
const SYNTAX = ['<', '>', '&', '"', "'", '|', '`', '*', '_', '[', ']', '(', ')', '#', '-', '+', '=', '1.', '!', '~', '\\', ':', ' ', '  ', 'a', 'é', '😀',
  '\n', '\r', '\t', '\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u202e', '\u2066', '\ufeff', '\ufffe', '\ud800', '\udc00', ']]>', '<!--', '&amp;', '<script>', '{{', '%0A'];
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.array(fc.constantFrom(...SYNTAX), { maxLength: 12 }).map((parts) => parts.join('')),
);
const texts = fc.record({ title: anyText, file: anyText, error: anyText, id: anyText, reason: anyText, label: anyText, source: anyText });
/** Texts that show something (an empty text makes an empty list item, a block fewer than a benign one). */
const shownTexts = texts.filter((t) => Object.values(t).every((s) => visible(s).trim() !== ''));
type Texts = { title: string; file: string; error: string; id: string; reason: string; label: string; source: string };
const BENIGN: Texts = { title: 't', file: 'f', error: 'e', id: 'i', reason: 'r', label: 'l', source: 's' };

/** Text as a Markdown block or cell shows it: spaces at either end dropped. */
const trimmed = (s: string) => s.replace(/^ +| +$/g, '');

let comparison: ComparisonReport;
let validation: Validation;
const records = fakeSession(createRng(11), 'any', 3, { intervals: 8, latencyUs: 60, latencySamples: 50 });

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-any-text-'));
  const rng = createRng(12);
  const write = (name: string, rs: RunRecord[]) => {
    writeFileSync(join(dir, name), rs.map((r) => JSON.stringify(r)).join('\n'));
    return join(dir, name);
  };
  const base = write('base.jsonl', fakeSession(rng, 'base', 5, { noise: 0.01 }));
  const slow = write('slow.jsonl', fakeSession(rng, 'slow', 5, { noise: 0.01, levelBps: 7e9 }));
  comparison = JSON.parse((await cli(['compare', '--baseline', base, '--candidate', slow, '--json'])).stdout);
  validation = JSON.parse((await cli(['validate', '--records', slow, '--expect-goodput', '8Gbps', '--json'])).stdout);
});

/** The report inputs with the texts in every place text from outside goes. */
function inputs(t: Texts): ReportInput[] {
  const rs: RunRecord[] = structuredClone(records);
  rs[0].end.state = 'errored';
  rs[0].end.error = { code: 'PEER', message: t.error };
  for (const r of rs) r.scenario.id = t.id;
  const c: ComparisonReport = structuredClone(comparison);
  c.baseline = t.source;
  c.candidate = t.file;
  c.gates = { ok: false, reasons: [t.reason] };
  c.metrics![0] = { ...c.metrics![0], label: t.label, reason: t.reason, verdict: 'Regression' };
  const v: Validation = structuredClone(validation);
  v.source = t.source;
  v.expectations[0] = { ...v.expectations[0], text: t.label, reason: t.reason };
  return [
    { file: t.file, kind: 'records', records: rs },
    { file: t.file, kind: 'comparison', comparison: c },
    { file: t.file, kind: 'validation', validation: v },
  ];
}

/** How many nodes of each type a tree has (plain text left out: escapes may split it). */
function shape(node: MdNode, counts: Record<string, number> = {}): Record<string, number> {
  if (node.type !== 'text') counts[node.type] = (counts[node.type] ?? 0) + 1;
  for (const c of node.children ?? []) shape(c, counts);
  return counts;
}

const EMPTY: Texts = { title: '', file: '', error: '', id: '', reason: '', label: '', source: '' };
/** Every kind of markup at once, in every place (besides what fast-check makes up). */
const MARKUP = '[a](http://x) ![i](y) [r]: http://z <b>*c*</b> `d` # e | f ~~g~~ _h_ &amp; ]]> <!-- j --> \u001b[31m';
const HOSTILE: Texts = { title: `1. ${MARKUP}`, file: `- ${MARKUP}`, error: `> ${MARKUP}`, id: MARKUP, reason: `# ${MARKUP}`, label: `[r]: http://z ${MARKUP}`, source: `+ ${MARKUP}` };
const RUNS = { numRuns: 40, seed: 20261130, examples: [[EMPTY], [HOSTILE]] as [Texts][] };

describe('reports stay whole and show any text', () => {
  it('JUnit XML: parses (saxes), the same elements, every text in its place', () => {
    const benign = parseXml(renderJunit(inputs(BENIGN), { title: BENIGN.title }));
    fc.assert(
      fc.property(texts, (t) => {
        const root = parseXml(renderJunit(inputs(t), { title: t.title }));
        expect(xmlElements(root, 'testcase')).toHaveLength(xmlElements(benign, 'testcase').length);
        expect(xmlElements(root, 'failure')).toHaveLength(xmlElements(benign, 'failure').length);
        expect(root.attributes.name).toBe(visible(t.title));
        const suites = xmlElements(root, 'testsuite');
        expect(suites[0].attributes.name.startsWith(`${visible(t.file)}: `)).toBe(true);
        expect(xmlElements(root, 'error')[0].attributes.message).toBe(`run 1 errored: PEER: ${visible(t.error)}`);
        const cases = xmlElements(root, 'testcase');
        expect(cases.filter((c) => c.attributes.name === visible(t.label))).not.toHaveLength(0);
        expect(xmlElements(root, 'failure').some((f) => f.attributes.message === `Regression (${comparison.metrics![0].severity}): ${visible(t.reason)}`)).toBe(true);
      }),
      RUNS,
    );
  });

  it('HTML: parses without an error (parse5), the same elements, the text shown', () => {
    const benign = parseHtml(renderHtml(inputs(BENIGN), { title: BENIGN.title }));
    // empty texts leave out what they would fill (an empty candidate: no line for it), and still parse
    expect(() => parseHtml(renderHtml(inputs(EMPTY), { title: EMPTY.title }))).not.toThrow();
    fc.assert(
      fc.property(shownTexts, (t) => {
        const page = parseHtml(renderHtml(inputs(t), { title: t.title }));
        expect(page.elements).toEqual(benign.elements);
        for (const s of [t.title, t.file, t.error, t.reason, t.label, t.source]) expect(page.text).toContain(visible(s));
      }),
      { ...RUNS, examples: [[HOSTILE]] as [Texts][] },
    );
  });

  it('Markdown: the same blocks, tables and marks (micromark, GitHub tables), the text shown', () => {
    const benignTree = parseMarkdown(renderMarkdown(inputs(BENIGN), { title: BENIGN.title }));
    const benignTables = mdTables(renderMarkdown(inputs(BENIGN), { title: BENIGN.title }));
    expect(mdTables(renderMarkdown(inputs(EMPTY), { title: EMPTY.title })).length).toBe(benignTables.length);
    fc.assert(
      fc.property(shownTexts, (t) => {
        const md = renderMarkdown(inputs(t), { title: t.title });
        const tree = parseMarkdown(md);
        expect(mdNodes(tree, 'html')).toEqual([]);
        expect(shape(tree)).toEqual(shape(benignTree));
        const tables = mdTables(md);
        expect(tables.map((rows) => rows.map((r) => r.length))).toEqual(benignTables.map((rows) => rows.map((r) => r.length)));
        const headings = mdNodes(tree, 'heading');
        expect(mdText(headings[0])).toBe(trimmed(visible(t.title)));
        expect(headings.some((h) => mdText(h) === trimmed(`Runs: ${visible(t.file)}`))).toBe(true);
        expect(headings.some((h) => mdText(h).includes(`(scenario ${visible(t.id)})`) || (visible(t.id).trim() === '' && mdText(h).includes('(scenario')))).toBe(true);
        const cells = tables.flat(2);
        expect(cells).toContain(trimmed(visible(t.reason)));
        expect(cells).toContain(trimmed(visible(t.label)));
        const items = mdNodes(tree, 'listItem').map(mdText);
        expect(items).toContain(trimmed(`baseline: ${visible(t.source)}`));
        expect(items).toContain(trimmed(visible(t.reason)));
      }),
      { ...RUNS, examples: [[HOSTILE]] as [Texts][] },
    );
  });

  it('text: nothing that acts on a terminal, the text shown', () => {
    fc.assert(
      fc.property(texts, (t) => {
        const r: RunRecord = structuredClone(records[0]);
        r.end.state = 'errored';
        r.end.error = { code: 'PEER', message: t.error };
        r.target = t.source;
        const text = summary(r);
        expect(visible(text, true)).toBe(text);
        expect(text).toContain(`error: PEER: ${visible(t.error)}`);
        expect(text).toContain(`against ${visible(t.source)}`);
      }),
      RUNS,
    );
  });

  it('Prometheus labels: the exposition parses, every label value is the text (as UTF-8 carries it)', async () => {
    for (const t of fc.sample(anyText, { numRuns: 40, seed: RUNS.seed })) {
      const metrics = new MonitorMetrics(t);
      metrics.probes.inc({ result: 'ok' });
      // as a scraper gets it: UTF-8 bytes (a lone surrogate becomes U+FFFD)
      const families = parsePrometheusText(Buffer.from(await metrics.registry.metrics(), 'utf8').toString('utf8'));
      expect(families.length).toBeGreaterThan(5);
      // the parser keeps a histogram's buckets without their labels: the other families carry the label
      const labelled = families.filter((f) => f.type !== 'HISTOGRAM').flatMap((f) => f.metrics);
      expect(labelled.length).toBeGreaterThan(5);
      for (const m of labelled) expect(m.labels?.target).toBe(Buffer.from(t, 'utf8').toString('utf8'));
    }
  });
});
