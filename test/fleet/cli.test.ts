// The fleet commands' help and usage errors: every flag in --help, exit 2 with a message naming the flag or
// file and nothing on stdout.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetCommands } from '../../src/cli/commands/fleet.js';
import { VERSION } from '../../src/version.js';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-fleet-cli-'));
const aFile = join(dir, 'a-file');
writeFileSync(aFile, '');

describe('stoq-bench fleet', () => {
  it('the top-level help lists it; fleet --help lists its commands; no command is a usage error', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/stoq-bench fleet\b/);
    const help = await cli(['fleet', '--help']);
    expect(help.code).toBe(0);
    for (const c of fleetCommands.subcommands) expect(help.stdout).toMatch(new RegExp(`stoq-bench fleet ${c.name}\\b`));
    const none = await cli(['fleet']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name a fleet command/);
  });

  it.each(fleetCommands.subcommands.map((c) => c.name))('fleet %s --help: every flag, the formats, the exit codes; --version', async (name) => {
    const command = fleetCommands.subcommands.find((c) => c.name === name)!;
    const { code, stdout, stderr } = await cli(['fleet', name, '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(new RegExp(`^stoq-bench fleet ${name}\\b`));
    for (const flag of Object.keys(command.options)) expect(stdout, flag).toContain(`--${flag}`);
    expect(stdout).toMatch(/Formats:/);
    expect(stdout).toMatch(/Exit codes:/);
    expect(await cli(['fleet', name, '--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  const notRecord = join(dir, 'not-a-record.json');
  writeFileSync(notRecord, '{"hello": "world"}\n');
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, 'waiting until 2026-12-01T10:00:00.000Z (1.0 s) to start with the session\n');
  it.each([
    [['fleet', 'merge'], /Not enough non-option arguments/],
    [['fleet', 'merge', join(dir, 'missing.jsonl')], /missing\.jsonl: cannot read \(no such file\)/],
    [['fleet', 'merge', notRecord], /not-a-record\.json(:1)?: not a stoq-bench run record \(no schemaVersion\)/],
    [['fleet', 'merge', empty], /empty\.log: holds no run record/],
    [['fleet', 'merge', empty, '--out', join(aFile, 'session.jsonl')], /--out .*a-file\/session\.jsonl: cannot write/],
    [['fleet', 'render', '--image', 'x'], /Missing required argument: clients/],
    [['fleet', 'collect'], /Missing required argument: selector/],
    [['fleet', 'collect', '-l', 'a=b', '--timeout', 'soon'], /--timeout: invalid duration "soon"/],
    [['fleet', 'collect', '-l', 'a=b', '--records-dir', join(aFile, 'logs')], /--records-dir .*a-file\/logs: cannot create the directory \(ENOTDIR\)/],
    [['fleet', 'render', '--clients', '0', '--image', 'x'], /--clients: expected a whole number from 1 to 10000/],
    [['fleet', 'render', '--clients', '2', '--image', 'x', '--scenario', 'latency', '--connections', '2'], /--connections applies to .*, not latency/],
    [['fleet', 'render', '--clients', '2', '--image', 'x', '--out', join(aFile, 'manifests')], /--out .*a-file\/manifests: cannot create the directory \(ENOTDIR\)/],
    [['fleet', 'frobnicate'], /Unknown argument: frobnicate|name a fleet command/],
  ])('%j: exit 2, nothing on stdout', async (args, message) => {
    const r = await cli(args);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(message);
  });
});
