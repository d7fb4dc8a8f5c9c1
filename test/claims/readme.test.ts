// The README's own performance figures are claims like any other: each must be backed by the records in
// bench/results/ that the README's commands produced.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { cli } from '../helpers.js';

it("every performance figure in the README is backed by a recorded result", async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const records = readdirSync(`${root}bench/results`).filter((f) => /^readme-.*\.jsonl$/.test(f)).map((f) => `${root}bench/results/${f}`);
  expect(records.length).toBeGreaterThan(0);
  const { code, stdout } = await cli(['claims', `${root}README.md`, '--records', ...records, '--no-json']);
  expect(stdout).toMatch(/claim\(s\): \d+ backed, 0 unbacked, 0 contradicted, 0 inconclusive/);
  expect(stdout).not.toMatch(/^0 claim/m);
  expect(code).toBe(0);
});
