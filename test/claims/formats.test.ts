// The output formats of `stoq-bench claims`: JSON (the report model), GitHub workflow annotations on the
// file and line, a Markdown step-summary table, and SARIF 2.1.0 checked against the SARIF schema.
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { mdTables } from '../report/parsers.js';
import { fixtureRecords } from './fixture-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-claim-formats-'));
const records = join(dir, 'records.jsonl');
const doc = join(dir, 'doc.md');
const source = join(dir, 'tuning.rs');

beforeAll(() => {
  writeFileSync(records, fixtureRecords().map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(doc, 'It reaches at least 8 Gbit/s.\nIt reaches 400 Gbit/s, with 9 Gbit/s | pipes.\nUpload: 5 Gbit/s.\n');
  writeFileSync(source, 'pub const TARGET_LATENCY_MS: u64 = 1;\n');
});

describe('claims output formats', () => {
  it('--json: the report model, with level, rule and measured interval per claim', async () => {
    const r = await cli(['claims', doc, source, '--records', records, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ kind: 'stoq-bench.claims', level: 0.95, tolerance: 0.1, counts: { BACKED: 1, CONTRADICTED: 1, INCONCLUSIVE: 1, UNBACKED: 1, hardcoded: 1 } });
    expect(j.claims.map((c: { text: string; verdict: string }) => [c.text, c.verdict])).toEqual([
      ['8 Gbit/s', 'BACKED'],
      ['400 Gbit/s', 'CONTRADICTED'],
      ['9 Gbit/s', 'INCONCLUSIVE'],
      ['5 Gbit/s', 'UNBACKED'],
    ]);
    expect(j.claims[0].rule).toMatch(/^at least 8\.00 Gbit\/s: BACKED when the 95% lower bound >= 8\.00 Gbit\/s/);
    expect(j.claims[0].measured).toMatchObject({ level: 0.95, basis: 'runs', n: 7 });
    expect(j.claims[2].runsToSettle).toBeGreaterThan(7);
    expect(j.findings[0]).toMatchObject({ line: 1, column: 11, name: 'TARGET_LATENCY_MS', value: 1, where: 'code' });
  });

  it('--format github: an annotation on the file and line of every claim not backed, and of every hard-coded figure', async () => {
    const r = await cli(['claims', doc, source, '--records', records, '--format', 'github']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(new RegExp(`^::error file=${doc.replace(/[/.]/g, '\\$&')},line=2,col=12,title=CONTRADICTED claim%3A 400 Gbit/s::CONTRADICTED: measured `));
    expect(lines[0]).toMatch(/%0Arule: at least 400\.0 Gbit\/s/);
    expect(lines[1]).toMatch(/^::warning file=.*doc\.md,line=2,col=\d+,title=INCONCLUSIVE claim%3A 9 Gbit\/s::/);
    expect(lines[2]).toMatch(/^::warning file=.*doc\.md,line=3,col=9,title=UNBACKED claim%3A 5 Gbit\/s::/);
    expect(lines[3]).toMatch(/^::error file=.*tuning\.rs,line=1,col=11,title=HARD-CODED figure%3A TARGET_LATENCY_MS%3A u64 = 1::/);
    expect(lines[4]).toMatch(/^::notice title=stoq-bench claims::4 claim\(s\): 1 backed, 1 unbacked, 1 contradicted, 1 inconclusive; 1 hard-coded figure\(s\)$/);
  });

  it('--format markdown: a table row per claim; pipes in the text do not break it', async () => {
    const r = await cli(['claims', doc, source, '--records', records, '--format', 'markdown']);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    expect(rows[0]).toBe('| where | claim | metric | rule | measured | verdict | reason |');
    expect(rows.filter((l) => /doc\.md:\d/.test(l))).toHaveLength(4);
    for (const row of rows.filter((l) => /doc\.md:\d/.test(l))) expect(row.split(/(?<!\\)\|/).length).toBe(9);
    expect(r.stdout).toMatch(/\| \*\*CONTRADICTED\*\* \|/);
    expect(r.stdout).toMatch(/^\| .*tuning\.rs:1 \| TARGET_LATENCY_MS: u64 = 1 \| TARGET_LATENCY_MS \| code \|$/m);
    // as a Markdown reader sees it
    const tables = mdTables(r.stdout);
    expect(tables.map((t) => t.length)).toEqual([5, 2]);
    expect(tables[1][1].slice(1)).toEqual(['TARGET_LATENCY_MS: u64 = 1', 'TARGET_LATENCY_MS', 'code']);
    expect(tables[0][4][6]).toMatch(/^no completed run measured goodput .*measure it with `stoq-bench run --scenario upload --runs 5`$/);
  });

  it('--format sarif: valid SARIF 2.1.0 (checked against its schema), one result per claim and finding', async () => {
    const r = await cli(['claims', doc, source, '--records', records, '--format', 'sarif']);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout);
    const require = createRequire(import.meta.url);
    const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
    // the schema's language-tag pattern is not a valid unicode regular expression: compile patterns as plain ones
    // a CommonJS module: its class is both module.exports and .default
    const Ajv = ajvDraft04.default;
    const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(log.version).toBe('2.1.0');
    const results = log.runs[0].results;
    expect(results.map((x: { ruleId: string; level: string; kind?: string }) => [x.ruleId, x.level, x.kind ?? 'fail'])).toEqual([
      ['claim-backed', 'none', 'pass'],
      ['claim-contradicted', 'error', 'fail'],
      ['claim-inconclusive', 'warning', 'fail'],
      ['claim-unbacked', 'warning', 'fail'],
      ['hardcoded-figure', 'error', 'fail'],
    ]);
    expect(results[1].locations[0].physicalLocation).toMatchObject({ region: { startLine: 2, startColumn: 12 } });
    expect(results[1].locations[0].physicalLocation.artifactLocation.uri).toMatch(/doc\.md$/);
    // the schema is no formality: a result without a message is refused
    const broken = structuredClone(log);
    delete broken.runs[0].results[0].message;
    expect(validate(broken)).toBe(false);
  });
});
