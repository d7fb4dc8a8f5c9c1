// How the engine was built is read from the loaded engine, named in every record and in the fingerprint,
// and a debug engine (or records it made) is called out wherever it measures or judges.
import { describe, expect, it } from 'vitest';
import { debugEngineWarning, warnIfDebugRecords } from '../src/cli/engine-build.js';
import { fingerprintOf, recordHost, testbedIdentity } from '../src/environment/fingerprint.js';
import { engineSpec } from '../src/native.js';
import { cli } from './helpers.js';
import { createRng, fakeRecord } from './stats/make-records.js';

describe('the engine build', () => {
  it('is the loaded engine\'s, in the record, the testbed identity and env', async () => {
    const build = engineSpec().build;
    expect(['release', 'debug']).toContain(build);
    expect(testbedIdentity().build).toBe(build);
    expect(recordHost().build).toBe(build);
    const { stdout } = await cli(['run', '--scenario', 'latency', '--count', '3', '--json']);
    expect(JSON.parse(stdout).environment.build).toBe(build);
    const env = await cli(['env', '--no-probe', '--no-aead', '--no-json']);
    expect(env.stdout).toMatch(new RegExp(`^build +${build} \\(read from the loaded engine`, 'm'));
    // this test suite runs the release engine `npm run build:native` builds
    expect(build).toBe('release');
    expect(debugEngineWarning()).toBeUndefined();
  });

  it('is part of the fingerprint: a debug engine is another testbed', () => {
    const id = testbedIdentity();
    expect(fingerprintOf({ ...id, build: 'debug' })).not.toBe(fingerprintOf({ ...id, build: 'release' }));
  });

  it('records made by a debug engine are called out', () => {
    const rng = createRng(1);
    const records = [fakeRecord(rng), fakeRecord(rng)];
    records[1].environment.build = 'debug';
    let stderr = '';
    warnIfDebugRecords({ stdout: () => {}, stderr: (t) => void (stderr += t), isTTY: false, color: false, signal: new AbortController().signal }, 'validate', records);
    expect(stderr).toMatch(/^stoq-bench validate: warning: 1 of 2 record\(s\) were measured by a debug build of the engine/);
  });
});
