// Nothing measured is ever lost, tried as a user would, with the real process and a real shell: a reader
// that goes away (`| head -1`), signals (coreutils `timeout`, which signals the process and then its group,
// and signals sent again and again, many times), a full disk (a small tmpfs mounted in a mount namespace of
// the test's own), and concurrent writers to one --out file. Plus the messages a user gets for values out
// of range and for a damaged history store. Runs are tiny (a fraction of a second) so the loops stay quick.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SignalCancel, type Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { HistoryStore } from '../src/history/store.js';
import { createRng } from '../src/stats/rng.js';
import { CLI } from './helpers.js';
import { fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-lost-'));
const path = (name: string) => join(dir, name);
const node = process.execPath;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** `stoq-bench` as a shell sees it. */
const BENCH = `${q(node)} ${q(CLI)}`;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a shell script (bash, no stdin) and collects what it printed. */
async function sh(script: string): Promise<Ran> {
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** Runs `jobs` at most `width` at a time. */
async function inBatches<T>(count: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, k) => job(i + k)))));
  return out;
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const records = (text: string) => lines(text).map((l) => JSON.parse(l));
/** Temporary and lock files left beside the files a command wrote. */
const leftovers = (d = dir) => readdirSync(d).filter((f) => /\.tmp$|\.lock$/.test(f));

const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
});

/** Starts a process of its own group and resolves once a line on stdout matches `ready` (readiness by output). */
async function startReady(args: string[], ready: RegExp): Promise<{ child: ChildProcess; stdout: () => string; stderr: () => string; first: string }> {
  const child = spawn(node, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      stdout += `${line}\n`;
      if (ready.test(line)) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, first };
}

/** Sends `signal` to the process group of `child`, `times` times in a row. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals, times: number): void {
  for (let i = 0; i < times; i++) process.kill(-child.pid!, signal);
}

describe('a reader that goes away: the command ends quietly, with what it measured written', () => {
  it('`run --runs 2 --duration 500ms --json | head -1`: one line, exit 141, no stack trace; --out and the history hold both runs', async () => {
    const out = path('head.jsonl');
    const store = path('head.db');
    const r = await sh(`${BENCH} run --runs 2 --duration 500ms --json --out ${q(out)} --store ${q(store)} | head -1; echo "status \${PIPESTATUS[0]}" >&2`);
    expect(records(r.stdout)).toHaveLength(1);
    expect(r.stderr).toBe('status 141\n');
    const written = records(readFileSync(out, 'utf8'));
    expect(written.map((x) => [x.session.run, x.end.state])).toEqual([[0, 'completed'], [1, 'completed']]);
    expect(written[0]).toEqual(records(r.stdout)[0]);
    const s = HistoryStore.open(store, { readonly: true });
    expect(s.counts().runs).toBe(2);
    s.close();
  });

  it('a reader gone while a run is measuring cancels it: the cancelled run is written, the rest is not measured', async () => {
    const out = path('head-text.jsonl');
    const r = await sh(`${BENCH} run --runs 3 --duration 20s --interval 50ms --out ${q(out)} --no-history --no-json | head -2; echo "status \${PIPESTATUS[0]}" >&2`);
    expect(lines(r.stdout)).toHaveLength(2);
    expect(r.stderr).toBe('status 141\n');
    const written = records(readFileSync(out, 'utf8'));
    expect(written).toHaveLength(1);
    expect(written[0].end.state).toBe('cancelled');
    expect(written[0].end.bytesReceived).toBeGreaterThan(0);
  });

  it('`server --json | head -1`: the server keeps serving; at the end stderr counts the lines not printed and shows the last', async () => {
    // bash runs the pipeline (pipefail: its status is the server's, head exits 0); the server is bash's child
    const shell = spawn('bash', ['-c', `set -o pipefail; ${BENCH} server --listen '[::1]:0' --json --stats-interval 1 | head -1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(shell);
    let stderr = '';
    shell.stderr!.on('data', (d) => (stderr += d));
    const [line] = (await once(createInterface({ input: shell.stdout! }), 'line')) as [string];
    const { address } = JSON.parse(line) as { address: string };
    // head has exited: every line from now on meets a closed pipe. A run of 1.5 s spans at least one status
    // tick with changed counters, so the server writes into the closed pipe while it serves this run.
    for (const duration of ['1500ms', '300ms']) {
      const client = spawnSync(node, [CLI, 'run', '--target', address, '--duration', duration, '--json', '--no-history'], { encoding: 'utf8' });
      expect(client.status, client.stderr).toBe(0);
      expect(JSON.parse(client.stdout).end.state).toBe('completed');
    }
    const server = readFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    for (const pid of server) process.kill(pid, 'SIGTERM');
    const [code] = (await once(shell, 'exit')) as [number];
    expect(code).toBe(0);
    const m = /^stoq-bench server: stdout was closed by its reader; (\d+) line\(s\) not printed, the last:\n(.*)\n$/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(2); // a status line, and the stopped line
    expect(JSON.parse(m![2])).toMatchObject({ event: 'stopped', accepted: 4 }); // each run's connection and view connection
  });
});

describe('signals: the first stops and writes, more do not interrupt the writing (many times, not once)', () => {
  it('`timeout 3 stoq-bench run --bytes 2TiB --json` (a signal to the process, then to its group), 20 times: the record every time', async () => {
    const tries = await inBatches(20, 5, async (i) => {
      const out = path(`timeout-${i}.jsonl`);
      const r = await sh(`timeout --preserve-status 3 ${BENCH} run --bytes 2TiB --json --no-history --out ${q(out)}`);
      return { r, out };
    });
    for (const { r, out } of tries) {
      expect({ code: r.code, stderr: r.stderr.replace(/^stoq-bench: SIGTERM again: .*\n/, '') }).toEqual({ code: 143, stderr: '' });
      const [record] = records(r.stdout);
      expect(records(r.stdout)).toHaveLength(1);
      expect(record.end.state).toBe('cancelled');
      expect(records(readFileSync(out, 'utf8'))).toEqual([record]);
    }
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('two SIGTERMs in a row to the process group, 20 times: exit 143, the run written to stdout, --out and the history', async () => {
    const tries = await inBatches(20, 5, async (i) => {
      const out = path(`twice-${i}.jsonl`);
      const store = path(`twice-${i}.db`);
      const p = await startReady(['run', '--duration', '30s', '--interval', '50ms', '--out', out, '--store', store, '--no-json'], /bit\/s/);
      signalGroup(p.child, 'SIGTERM', 2);
      const [code] = (await once(p.child, 'exit')) as [number];
      return { code, stdout: p.stdout(), stderr: p.stderr(), out, store };
    });
    for (const t of tries) {
      expect(t.code, t.stderr).toBe(143);
      expect(t.stdout).toMatch(/^scenario download .*: cancelled$/m);
      expect(records(readFileSync(t.out, 'utf8')).map((x) => x.end.state)).toEqual(['cancelled']);
      const s = HistoryStore.open(t.store, { readonly: true });
      expect(s.counts().runs).toBe(1);
      s.close();
    }
  }, 120_000);

  it('a third signal exits at once; what was written is whole (never half a record), 5 times', async () => {
    for (let i = 0; i < 5; i++) {
      const out = path(`thrice-${i}.jsonl`);
      const p = await startReady(['run', '--duration', '30s', '--interval', '50ms', '--out', out, '--no-history', '--no-json'], /bit\/s/);
      signalGroup(p.child, 'SIGINT', 3);
      const [code] = (await once(p.child, 'exit')) as [number];
      expect(code).toBe(130);
      // signals sent together may arrive as one: then the run was written, else it was not begun
      const written = existsSync(out) ? records(readFileSync(out, 'utf8')) : [];
      expect(written.length).toBeLessThanOrEqual(1);
      for (const w of written) expect(w.end.state).toBe('cancelled');
    }
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it('a command that finishes on its own gives the signals back their default action; one that came while it loaded ends it', async () => {
    const numbers = path('numbers.json');
    writeFileSync(numbers, JSON.stringify([1, 2, 3, 4, 5]));
    const io = (aborted: boolean) => {
      const controller = new AbortController();
      if (aborted) controller.abort(new SignalCancel('SIGTERM'));
      let stdout = '';
      let released = 0;
      const value: Io = { stdout: (t) => void (stdout += t), stderr: () => {}, isTTY: false, color: false, signal: controller.signal, releaseSignals: () => void released++ };
      return { value, stdout: () => stdout, released: () => released };
    };
    const late = io(true);
    expect(await main(['stats', numbers], late.value)).toBe(143);
    expect([late.stdout(), late.released()]).toEqual(['', 1]);
    const calm = io(false);
    expect(await main(['stats', numbers], calm.value)).toBe(0);
    expect(calm.released()).toBe(1);
    // a measurement keeps them: it stops on the first and writes what it measured
    const measuring = io(true);
    expect(await main(['run', '--duration', '1s', '--json', '--no-history'], measuring.value)).toBe(143);
    expect(measuring.released()).toBe(0);
    // the real process, signalled as it starts, 10 times: ended by the signal, nothing printed
    const tries = await inBatches(10, 5, async () => {
      const child = spawn(node, [CLI, 'stats', numbers], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.kill('SIGINT');
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      return { code, signal, stdout };
    });
    for (const t of tries) expect(t.code === 130 || t.signal === 'SIGINT', JSON.stringify(t)).toBe(true);
  });

  it('`timeout` on monitor and server, 10 times each: the stopped event every time', async () => {
    const server = await startReady(['server', '--listen', '[::1]:0', '--json'], /"listening"/);
    const { address } = JSON.parse(server.first) as { address: string };
    const monitors = await inBatches(10, 5, (i) =>
      sh(`timeout --preserve-status 2 ${BENCH} monitor --target '${address}' --interval 100ms --probe-count 5 --burst-every 0 --json --history ${q(path(`monitor-${i}.db`))}`),
    );
    for (const m of monitors) {
      const events = records(m.stdout);
      expect(events[0].event).toBe('started');
      const stopped = events.at(-1);
      expect(stopped.event, m.stderr).toBe('stopped');
      // It ends Healthy, or before any measurement finished (exit 0); a loaded machine may time a probe out
      // (Critical, exit 1). Either way the exit code is the state's.
      expect(m.code, JSON.stringify(stopped)).toBe(stopped.state === null || stopped.state === 'Healthy' ? 0 : 1);
    }
    signalGroup(server.child, 'SIGTERM', 1);
    await once(server.child, 'exit');
    const servers = await inBatches(10, 5, () => sh(`timeout --preserve-status 3 ${BENCH} server --listen '[::1]:0' --json`));
    for (const s of servers) {
      expect(s.code, s.stderr).toBe(0);
      const events = records(s.stdout);
      expect(events[0].event).toBe('listening');
      expect(events.at(-1)!.event).toBe('stopped');
    }
  }, 120_000);
});

describe('concurrent writers to one --out file', () => {
  it('eight `run --runs 3 --json --out SAME.jsonl` at once: every record of every session is in it, whole, after what was there', async () => {
    const same = path('same.jsonl');
    const store = path('same.db');
    writeFileSync(same, '{"kept":"a line written before"}'); // no final newline: the next record must not join it
    const runs = await inBatches(8, 8, () => sh(`${BENCH} run --runs 3 --duration 100ms --json --out ${q(same)} --store ${q(store)}`));
    const printed = runs.flatMap((r) => {
      expect(r.code, r.stderr).toBe(0);
      return records(r.stdout);
    });
    expect(printed).toHaveLength(24);
    const [kept, ...written] = records(readFileSync(same, 'utf8'));
    expect(kept).toEqual({ kept: 'a line written before' });
    const key = (r: { session: { id: string; run: number } }) => `${r.session.id}#${r.session.run}`;
    expect(written.map(key).sort()).toEqual(printed.map(key).sort());
    // eight writers to the history store lose nothing either
    const s = HistoryStore.open(store, { readonly: true });
    expect(s.counts()).toMatchObject({ sessions: 8, runs: 24 });
    s.close();
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('a document (report --out) is never replaced without --force: of eight writers at once, one writes it, seven are refused', async () => {
    const input = path('for-report.jsonl');
    writeFileSync(input, fakeSession(createRng(3), 'r', 3).map((r) => JSON.stringify(r)).join('\n'));
    const target = path('same.md');
    const runs = await inBatches(8, 8, () => sh(`${BENCH} report ${q(input)} --out ${q(target)}`));
    expect(runs.map((r) => r.code).sort()).toEqual([0, 2, 2, 2, 2, 2, 2, 2]);
    for (const r of runs.filter((x) => x.code === 2)) expect(r.stderr).toBe(`stoq-bench: --out ${target}: the file exists (use --force to replace it)\n`);
    expect(readFileSync(target, 'utf8')).toMatch(/^# stoq-bench report\n[\s\S]*\n$/);
    const forced = await sh(`${BENCH} report ${q(input)} --out ${q(target)} --force --title again`);
    expect(forced.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toMatch(/^# again\n/);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});

/** Can this test mount a tmpfs in a mount namespace of its own (root, unshare and mount present)? */
const canMount = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k none ${q(dir)} && umount ${q(dir)}`]).status === 0;

describe('a full disk (a 64 KiB tmpfs in a mount namespace of the test, the real ENOSPC)', () => {
  it.skipIf(!canMount)('nothing is reported written that was not; a good file is never replaced by a bad one; the records say where they are', async () => {
    const disk = mkdtempSync(join(dir, 'disk-'));
    const outside = mkdtempSync(join(dir, 'outside-'));
    const big = join(outside, 'big.jsonl');
    writeFileSync(big, fakeSession(createRng(9), 'big', 8, { latencyUs: 60, latencySamples: 400 }).map((r) => JSON.stringify(r)).join('\n'));
    const small = join(outside, 'small.jsonl');
    writeFileSync(small, JSON.stringify(fakeSession(createRng(10), 'small', 1, { intervals: 3 })[0]));
    const store = join(outside, 'h.db');
    const o = (name: string) => q(join(outside, name));
    // Everything that writes to the small disk runs in one namespace; what each command printed and its exit
    // code are kept outside it. The disk is filled to leave about one record of room (a record is 2.5 kB).
    const script = `
      set -u
      mount -t tmpfs -o size=64k none ${q(disk)}
      run() { name=$1; shift; "$@" > ${q(outside)}/$name.out 2> ${q(outside)}/$name.err; echo $? > ${q(outside)}/$name.code; }
      run save ${BENCH} baseline save main ${q(big)} --store ${q(store)}
      run savesmall ${BENCH} baseline save small ${q(small)} --store ${q(store)}
      run small ${BENCH} baseline export small --store ${q(store)} --out ${q(join(disk, 'kept.json'))}
      head -c $(( $(df -B1 --output=avail ${q(disk)} | tail -1) - 4096 )) /dev/zero > ${q(join(disk, 'filler'))} 2>/dev/null
      run export ${BENCH} baseline export main --store ${q(store)} --out ${q(join(disk, 'baseline.json'))}
      run force ${BENCH} baseline export main --store ${q(store)} --out ${q(join(disk, 'kept.json'))} --force
      run report ${BENCH} report ${q(big)} --format html --out ${q(join(disk, 'report.html'))}
      run json ${BENCH} run --runs 3 --duration 100ms --json --no-history --out ${q(join(disk, 'runs.jsonl'))}
      run text ${BENCH} run --runs 3 --duration 100ms --no-json --store ${q(store)} --out ${q(join(disk, 'text.jsonl'))}
      ls -a ${q(disk)} > ${o('ls')}
      cp ${q(join(disk, 'kept.json'))} ${o('kept-after.json')}
      cp ${q(join(disk, 'runs.jsonl'))} ${o('runs-after.jsonl')} 2>/dev/null || true
    `;
    const r = spawnSync('unshare', ['-m', 'bash', '-c', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = (name: string) => ({
      code: Number(readFileSync(join(outside, `${name}.code`), 'utf8')),
      stdout: readFileSync(join(outside, `${name}.out`), 'utf8'),
      stderr: readFileSync(join(outside, `${name}.err`), 'utf8'),
    });
    expect(got('save').code).toBe(0);
    expect(got('savesmall').code).toBe(0);
    expect(got('small').code, got('small').stderr).toBe(0);
    const kept = readFileSync(join(outside, 'kept-after.json'), 'utf8');
    // baseline export: the file is larger than the room left
    const exported = got('export');
    expect(exported).toEqual({ code: 3, stdout: '', stderr: `stoq-bench baseline: IO: --out ${join(disk, 'baseline.json')}: cannot write (no space left on device)\n` });
    // --force over a good file: the good file stays as it was
    expect(got('force')).toMatchObject({ code: 3, stdout: '' });
    expect(JSON.parse(kept).name).toBe('small');
    expect(got('report')).toMatchObject({ code: 3, stderr: expect.stringMatching(/--out .*report\.html: cannot write \(no space left on device\)/) });
    // run --json: every record printed; the file holds only whole records, those that fitted; exit 3, saying where the rest are
    const json = got('json');
    expect(json.code).toBe(3);
    const printed = records(json.stdout);
    expect(printed).toHaveLength(3);
    const inFile = existsSync(join(outside, 'runs-after.jsonl')) ? records(readFileSync(join(outside, 'runs-after.jsonl'), 'utf8')) : [];
    expect(inFile.length).toBeLessThan(3);
    expect(inFile).toEqual(printed.slice(0, inFile.length));
    const missing = printed.slice(inFile.length).map((x) => x.session.run + 1);
    expect(json.stderr).toBe(
      `stoq-bench run: --out ${join(disk, 'runs.jsonl')}: cannot write (no space left on device); run${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of 3 (session ${printed[0].session.id}) not in it: printed above as JSON lines\n`,
    );
    // run in text mode: the records that did not fit are printed as JSON lines after the text, and are in the store
    const text = got('text');
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^scenario download .*: completed$/m);
    expect(text.stderr).toMatch(/^stoq-bench run: --out .*text\.jsonl: cannot write \(no space left on device\); runs? [\d, ]+ of 3 \(session [\w-]+\) not in it: printed on stdout as JSON lines and recorded in the history store .*h\.db\n$/);
    const session = /\(session ([\w-]+)\)/.exec(text.stderr)![1];
    expect(lines(text.stdout).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).session.id)).not.toHaveLength(0);
    const s = HistoryStore.open(store, { readonly: true });
    expect(s.records([session])).toHaveLength(3);
    s.close();
    // nothing half-written, no temporary or lock file left
    expect(readFileSync(join(outside, 'ls'), 'utf8').split('\n').filter((f) => /\.tmp$|\.lock$|baseline\.json|report\.html/.test(f))).toEqual([]);
  }, 120_000);
});

describe('messages in the user\'s words', () => {
  const cases: Array<[string[], string]> = [
    [['run', '--duration', '100000000000h'], 'stoq-bench: --duration: expected a TIME from 1ms to 24h, got "100000000000h"\n'],
    [['run', '--duration', '-1s'], 'stoq-bench: --duration: invalid duration "-1s" (a duration is never negative; expected e.g. 10s, 500ms or 1s500ms)\n'],
    [['run', '--bytes', '-5'], 'stoq-bench: --bytes: invalid size "-5" (a size is never negative; expected e.g. 256MiB, 10MB or 1350)\n'],
    [['server', '--payload-size', '0'], 'stoq-bench: --payload-size: expected a SIZE from 1200 to 65527, got "0"\n'],
    [['server', '--payload-size', '1199'], 'stoq-bench: --payload-size: expected a SIZE from 1200 to 65527, got "1199"\n'],
    [['server', '--payload-size', '70000'], 'stoq-bench: --payload-size: expected a SIZE from 1200 to 65527, got "70000"\n'],
    [['run', '--payload-size', '70000'], 'stoq-bench: --payload-size: expected a SIZE from 1200 to 65527, got "70000"\n'],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: exit 2, the flag and its range`, () => {
      const r = spawnSync(node, [CLI, ...args, ...(args[0] === 'run' ? ['--no-history'] : [])], { encoding: 'utf8' });
      expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: '', stderr: message });
    });
  }

  it('damage inside a stored record names the store, the session and the run', () => {
    const store = path('damaged.db');
    const s = HistoryStore.open(store);
    const rs = fakeSession(createRng(4), 'damaged', 2);
    s.addRecords(rs);
    s.close();
    const db = new Database(store);
    const row = db.prepare('SELECT record FROM runs WHERE session_id = ? AND run = 1').get(rs[0].session.id) as { record: string };
    db.prepare('UPDATE runs SET record = ? WHERE session_id = ? AND run = 1').run(row.record.replace('"intervals":[', '"intervals":[#'), rs[0].session.id);
    db.close();
    const candidate = path('candidate.jsonl');
    writeFileSync(candidate, fakeSession(createRng(5), 'candidate', 3).map((r) => JSON.stringify(r)).join('\n'));
    for (const args of [['history'], ['history', 'trend'], ['compare', '--candidate', candidate]]) {
      const r = spawnSync(node, [CLI, ...args, '--store', store], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^stoq-bench: ${store}: session ${rs[0].session.id}, run 2: the stored record is corrupt \\(not valid JSON: .*\\); left untouched\\n$`));
    }
  });
});
