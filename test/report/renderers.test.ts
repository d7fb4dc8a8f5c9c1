// The renderers on their own: chart geometry and ticks, escaping of hostile text in every format, and
// inputs with nothing to draw.
import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeXml } from '../../src/escape.js';
import { intervalChart, lineChart, niceTicks } from '../../src/report/charts.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { ReportInput } from '../../src/report/model.js';
import { createRng } from '../../src/stats/rng.js';
import { fakeSession } from '../stats/make-records.js';
import { parseXml } from './parsers.js';

describe('niceTicks', () => {
  it('gives round steps covering the range', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 9.4e9)).toEqual([0, 2e9, 4e9, 6e9, 8e9]);
    expect(niceTicks(-12, 12, 4)).toEqual([-10, 0, 10]);
    expect(niceTicks(0, 0.7)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('charts', () => {
  it('a line chart maps every point into the plot area, one path per series', () => {
    const svg = lineChart('t', 'title', [
      { name: 'a', points: [[0, 0], [1, 5], [2, 10]] },
      { name: 'b', points: [[0, 10], [2, 0]] },
    ], { label: 'x', format: String }, { label: 'y', format: String });
    const paths = [...svg.matchAll(/<path class="series" data-series="(\w)" data-points="(\d+)"[^>]* d="([^"]+)"/g)];
    expect(paths.map((p) => [p[1], Number(p[2])])).toEqual([['a', 3], ['b', 2]]);
    for (const p of paths) {
      for (const [, x, y] of p[3].matchAll(/[ML]([\d.]+),([\d.]+)/g)) {
        expect(Number(x)).toBeGreaterThanOrEqual(92);
        expect(Number(x)).toBeLessThanOrEqual(760 - 24);
        expect(Number(y)).toBeGreaterThanOrEqual(34);
        expect(Number(y)).toBeLessThanOrEqual(300 - 46);
      }
    }
    // the first series rises left to right: y (SVG, downwards) falls
    const ys = [...paths[0][3].matchAll(/,([\d.]+)/g)].map((m) => Number(m[1]));
    expect(ys[0]).toBeGreaterThan(ys[2]);
  });

  it('nothing to draw says so instead of drawing an empty frame', () => {
    expect(lineChart('t', 'empty', [{ name: 'a', points: [] }], { label: 'x', format: String }, { label: 'y', format: String })).toMatch(/<p class="empty">no data<\/p>/);
    expect(intervalChart('i', 'empty', [], { label: 'x', format: String })).toMatch(/no data/);
  });

  it('an interval without bounds is still a dot, with no whisker', () => {
    const svg = intervalChart('i', 't', [{ label: 'one run', centre: 5, lower: null, upper: null }], { label: 'x', format: String });
    expect(svg).toMatch(/<circle class="centre"/);
    expect(svg).not.toMatch(/path class="series interval"/);
  });
});

describe('escaping', () => {
  const hostile = '<script>alert(1)</script> | "quoted" & \u0007bell';
  const rng = createRng(5);
  const records = fakeSession(rng, 's', 3, { noise: 0.01 });
  records[0].end.state = 'errored';
  records[0].end.error = { code: 'PEER', message: hostile };
  const inputs: ReportInput[] = [{ file: hostile, kind: 'records', records }];

  it('HTML: no markup gets through from file names or error messages', () => {
    const html = renderHtml(inputs, { title: hostile });
    expect(html).not.toContain('<script>alert');
    expect(html).toContain(escapeHtml('<script>alert(1)</script>'));
    expect(html).not.toMatch(/<script/i); // the page runs nothing: its CSP allows no script
  });

  it('JUnit: well-formed, control characters shown as escapes, the errored run is an error', () => {
    const xml = renderJunit(inputs, { title: hostile });
    expect(parseXml(xml).attributes.name).toBe('<script>alert(1)</script> | "quoted" & \\u0007bell');
    expect(xml).not.toContain('\u0007');
    expect(escapeXml('a<b>&"\'')).toBe('a&lt;b&gt;&amp;&quot;&apos;');
    expect(xml).toMatch(/<error type="errored" message="run 1 errored: PEER: &lt;script&gt;/);
    expect(xml).toMatch(/errors="1"/);
  });

  it('Markdown: pipes in cells do not break the table', () => {
    const md = renderMarkdown(inputs);
    const rows = md.split('\n').filter((l) => l.startsWith('| run 1 |'));
    expect(rows).toHaveLength(1);
    expect(rows[0].split(/(?<!\\)\|/).length).toBe(14); // 12 columns between 13 unescaped pipes, plus the ends
  });
});
