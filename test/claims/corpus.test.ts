// The corpus: hand-written documents under test/fixtures/claims/ covering every way figures are written,
// each claim's reading (line, figure, metric, direction) and verdict pinned in DOC.expected.json against
// the fixed records of fixture-records.ts. A change to extraction or rules shows up here line by line.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkClaims } from '../../src/claims/check.js';
import { extractClaims } from '../../src/claims/extract.js';
import { fixtureRecords } from './fixture-records.js';

const dir = fileURLToPath(new URL('../fixtures/claims/', import.meta.url));
const documents = readdirSync(dir).filter((f) => f.endsWith('.md'));
const records = fixtureRecords();

/** One pinned row per claim: [line, figure as written, metric, direction, verdict]. */
export function pinned(doc: string): Array<[number, string, string, string, string]> {
  return checkClaims(extractClaims(readFileSync(`${dir}${doc}`, 'utf8'), doc), records).map((c) => [c.line, c.text, c.metric, c.form, c.verdict]);
}

describe('claims corpus', () => {
  it('covers every document form', () => {
    expect(documents.sort()).toEqual(['code.md', 'connections.md', 'latency.md', 'qualifiers.md', 'rates.md', 'tables.md']);
  });

  it.each(documents)('%s: every claim read and judged as pinned', (doc) => {
    const expected = JSON.parse(readFileSync(`${dir}${doc.replace(/\.md$/, '.expected.json')}`, 'utf8'));
    expect(pinned(doc)).toEqual(expected);
  });
});
