// The history store: an embedded SQLite database (better-sqlite3, WAL) keyed by testbed fingerprint and
// scenario id, holding sessions, runs (the full run record) and raw samples, plus named baselines.
// - a schema version (PRAGMA user_version) and forward migrations; an application id marks our files;
// - a corrupt or foreign file is refused with INVALID_FILE before anything is written to it;
// - every write is one IMMEDIATE transaction with a busy timeout: concurrent writers queue, none is lost,
//   and a crash mid-write leaves the previous state (SQLite's atomic commit).
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoqError } from '../errors.js';
import { validateRecord } from '../records.js';
import type { RunRecord } from '../record.js';

/** 'STQB' */
const APPLICATION_ID = 0x53545142;

/** Forward migrations; index i brings the schema from version i to i + 1. Never edit a shipped one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     scenario_id TEXT NOT NULL,
     scenario_kind TEXT NOT NULL,
     started_at TEXT NOT NULL,
     tool_version TEXT,
     hostname TEXT,
     added_at TEXT NOT NULL
   );
   CREATE INDEX sessions_by_key ON sessions (fingerprint, scenario_id, started_at);
   CREATE TABLE runs (
     session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
     run INTEGER NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     PRIMARY KEY (session_id, run)
   );
   CREATE TABLE samples (
     session_id TEXT NOT NULL,
     run INTEGER NOT NULL,
     kind TEXT NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (session_id, run, kind),
     FOREIGN KEY (session_id, run) REFERENCES runs (session_id, run) ON DELETE CASCADE
   );
   CREATE TABLE baselines (
     name TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     scenario_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     note TEXT
   );
   CREATE TABLE baseline_runs (
     name TEXT NOT NULL REFERENCES baselines (name) ON DELETE CASCADE,
     session_id TEXT NOT NULL,
     run INTEGER NOT NULL,
     PRIMARY KEY (name, session_id, run),
     FOREIGN KEY (session_id, run) REFERENCES runs (session_id, run)
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface SessionInfo {
  id: string;
  fingerprint: string;
  scenarioId: string;
  scenarioKind: string;
  startedAt: string;
  toolVersion: string | null;
  hostname: string | null;
  runs: number;
}

export interface BaselineInfo {
  name: string;
  fingerprint: string;
  scenarioId: string;
  createdAt: string;
  note: string | null;
  runs: number;
  sessions: number;
}

/** Default location: $STOQ_BENCH_STORE, else $XDG_DATA_HOME/stoq-bench/history.db (~/.local/share/...). */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOQ_BENCH_STORE) return env.STOQ_BENCH_STORE;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'stoq-bench', 'history.db');
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

function checkHeader(path: string): void {
  if (!existsSync(path)) return;
  const st = statSync(path);
  if (!st.isFile()) throw new StoqError('INVALID_FILE', `${path}: not a regular file`);
  if (st.size === 0) return;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    const got = readSync(fd, buf, 0, 16, 0);
    if (got < 16 || buf.toString('latin1') !== SQLITE_MAGIC) {
      throw new StoqError('INVALID_FILE', `${path}: not a stoq-bench history store (not an SQLite database); left untouched`);
    }
  } finally {
    closeSync(fd);
  }
}

function wrap(path: string, error: unknown): StoqError {
  if (error instanceof StoqError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (/SQLITE_(CORRUPT|NOTADB)/.test(code) || /malformed|not a database/i.test(message)) {
    return new StoqError('INVALID_FILE', `${path}: the history store is corrupt (${message}); left untouched`, { cause: error });
  }
  if (/SQLITE_(BUSY|LOCKED)/.test(code)) {
    return new StoqError('IO', `${path}: the history store stayed locked by another process (${message})`, { cause: error });
  }
  return new StoqError('IO', `${path}: ${message}`, { cause: error });
}

function toBlob(values: readonly number[]): Buffer {
  const f = Float64Array.from(values);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

function fromBlob(buf: Buffer): number[] {
  const copy = new Float64Array(buf.byteLength / 8);
  new Uint8Array(copy.buffer).set(buf);
  return Array.from(copy);
}

export class HistoryStore {
  readonly path: string;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  /** Opens (creating when absent) the store at `path`; refuses corrupt, foreign or newer files. */
  static open(path: string = defaultStorePath(), options: { readonly?: boolean; timeoutMs?: number } = {}): HistoryStore {
    checkHeader(path);
    if (options.readonly && !existsSync(path)) throw new StoqError('INVALID_FILE', `${path}: no history store here`);
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: options.readonly ?? false, timeout: options.timeoutMs ?? 30_000 });
    } catch (error) {
      throw wrap(path, error);
    }
    try {
      // read together in one transaction: another process may be creating the store at this moment
      const { appId, version, tables } = db.transaction(() => ({
        appId: db.pragma('application_id', { simple: true }) as number,
        version: db.pragma('user_version', { simple: true }) as number,
        tables: (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n,
      }))();
      if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0 || version !== 0)) {
        throw new StoqError('INVALID_FILE', `${path}: an SQLite database of another application (application_id ${appId}); left untouched`);
      }
      if (version > SCHEMA_VERSION) {
        throw new StoqError('INVALID_FILE', `${path}: written by a newer stoq-bench (schema ${version}, this one knows ${SCHEMA_VERSION}); left untouched`);
      }
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = ON');
        // migrate in one immediate transaction; re-read the version inside it (another process may have
        // migrated meanwhile)
        db.transaction(() => {
          const current = db.pragma('user_version', { simple: true }) as number;
          for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
          if (current < SCHEMA_VERSION) {
            db.pragma(`application_id = ${APPLICATION_ID}`);
            db.pragma(`user_version = ${SCHEMA_VERSION}`);
          }
        }).immediate();
      } else if (version < SCHEMA_VERSION) {
        throw new StoqError('INVALID_FILE', `${path}: schema ${version} needs a migration; open it read-write once`);
      }
    } catch (error) {
      db.close();
      throw wrap(path, error);
    }
    return new HistoryStore(path, db);
  }

  close(): void {
    this.db.close();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw wrap(this.path, error);
    }
  }

  /**
   * Adds run records (idempotent: a run already stored under the same session id and index is kept).
   * All records go in one transaction.
   */
  addRecords(records: readonly RunRecord[]): { sessions: number; runs: number; skipped: number } {
    const insertSession = this.db.prepare(
      `INSERT OR IGNORE INTO sessions (id, fingerprint, scenario_id, scenario_kind, started_at, tool_version, hostname, added_at)
       VALUES (@id, @fingerprint, @scenarioId, @kind, @startedAt, @toolVersion, @hostname, @addedAt)`,
    );
    const checkSession = this.db.prepare('SELECT fingerprint, scenario_id AS scenarioId FROM sessions WHERE id = ?');
    const insertRun = this.db.prepare('INSERT OR IGNORE INTO runs (session_id, run, state, record) VALUES (?, ?, ?, ?)');
    const insertSamples = this.db.prepare('INSERT OR IGNORE INTO samples (session_id, run, kind, data) VALUES (?, ?, ?, ?)');
    return this.run(() =>
      this.db.transaction(() => {
        let sessions = 0;
        let runs = 0;
        let skipped = 0;
        const addedAt = new Date().toISOString();
        for (const raw of records) {
          const r = validateRecord(raw);
          const s = insertSession.run({
            id: r.session.id,
            fingerprint: r.environment.fingerprint,
            scenarioId: r.scenario.id,
            kind: r.scenario.kind,
            startedAt: r.startedAt,
            toolVersion: r.tool?.version ?? null,
            hostname: r.environment.hostname ?? null,
            addedAt,
          });
          if (s.changes > 0) sessions++;
          else {
            const existing = checkSession.get(r.session.id) as { fingerprint: string; scenarioId: string };
            if (existing.fingerprint !== r.environment.fingerprint || existing.scenarioId !== r.scenario.id) {
              throw new StoqError('INVALID_ARGUMENT', `session ${r.session.id} is already stored with another testbed or scenario`);
            }
          }
          const { samples, ...rest } = r;
          const res = insertRun.run(r.session.id, r.session.run, r.end.state, JSON.stringify(rest));
          if (res.changes === 0) {
            skipped++;
            continue;
          }
          runs++;
          if (samples?.latencyUs) insertSamples.run(r.session.id, r.session.run, 'latencyUs', toBlob(samples.latencyUs));
        }
        return { sessions, runs, skipped };
      }).immediate(),
    );
  }

  /** Sessions, newest first, optionally of one testbed and scenario. */
  sessions(filter: { fingerprint?: string; scenarioId?: string; limit?: number } = {}): SessionInfo[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.fingerprint !== undefined) {
      where.push('s.fingerprint = ?');
      args.push(filter.fingerprint);
    }
    if (filter.scenarioId !== undefined) {
      where.push('s.scenario_id = ?');
      args.push(filter.scenarioId);
    }
    const sql = `SELECT s.id, s.fingerprint, s.scenario_id AS scenarioId, s.scenario_kind AS scenarioKind, s.started_at AS startedAt,
                        s.tool_version AS toolVersion, s.hostname, (SELECT count(*) FROM runs r WHERE r.session_id = s.id) AS runs
                 FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY s.started_at DESC, s.rowid DESC ${filter.limit ? `LIMIT ${Math.floor(filter.limit)}` : ''}`;
    return this.run(() => this.db.prepare(sql).all(...args) as SessionInfo[]);
  }

  /** The run records of the given sessions (samples re-attached), in session order then run order. */
  records(sessionIds: readonly string[]): RunRecord[] {
    const get = this.db.prepare('SELECT run, record FROM runs WHERE session_id = ? ORDER BY run');
    const samples = this.db.prepare('SELECT kind, data FROM samples WHERE session_id = ? AND run = ?');
    return this.run(() =>
      sessionIds.flatMap((id) =>
        (get.all(id) as Array<{ run: number; record: string }>).map((row) => this.attach(id, row, samples)),
      ),
    );
  }

  /** A stored run with its samples; damage in either names the store, the session and the run. */
  private attach(sessionId: string, row: { run: number; record: string }, samples: Database.Statement): RunRecord {
    const corrupt = (what: string, why: string) =>
      new StoqError('INVALID_FILE', `${this.path}: session ${sessionId}, run ${row.run + 1}: the stored ${what} is corrupt (${why}); left untouched`);
    let rec: RunRecord;
    try {
      rec = JSON.parse(row.record) as RunRecord;
    } catch (error) {
      throw corrupt('record', `not valid JSON: ${(error as Error).message}`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw corrupt('record', 'not a JSON object');
    for (const s of samples.all(sessionId, row.run) as Array<{ kind: string; data: Buffer }>) {
      if (s.kind !== 'latencyUs') continue;
      if (!Buffer.isBuffer(s.data) || s.data.byteLength % 8 !== 0) throw corrupt('latency samples', `${Buffer.isBuffer(s.data) ? s.data.byteLength : typeof s.data} bytes, not a whole number of 8-byte values`);
      rec.samples = { ...(rec.samples ?? {}), latencyUs: fromBlob(s.data) };
    }
    try {
      return validateRecord(rec);
    } catch (error) {
      throw corrupt('record', (error as Error).message.replace(/^record: /, ''));
    }
  }

  /** Saves (or with `replace`, replaces) a named baseline made of these records; the records are stored too. */
  saveBaseline(name: string, records: readonly RunRecord[], options: { note?: string; replace?: boolean } = {}): BaselineInfo {
    if (!/^[\w.@:+-]{1,128}$/.test(name)) {
      throw new StoqError('INVALID_ARGUMENT', `invalid baseline name "${name}" (letters, digits and . _ - @ : + only)`);
    }
    if (records.length === 0) throw new StoqError('INVALID_ARGUMENT', 'a baseline needs at least one run record');
    const fps = new Set(records.map((r) => r.environment.fingerprint));
    const scn = new Set(records.map((r) => r.scenario.id));
    if (fps.size > 1 || scn.size > 1) {
      throw new StoqError('INVALID_ARGUMENT', `a baseline holds one testbed and one scenario (got ${fps.size} testbeds, ${scn.size} scenarios)`);
    }
    return this.run(() =>
      this.db.transaction(() => {
        const exists = this.db.prepare('SELECT 1 FROM baselines WHERE name = ?').get(name);
        if (exists && !options.replace) throw new StoqError('INVALID_ARGUMENT', `baseline "${name}" exists (use --force to replace it)`);
        this.addRecords(records);
        this.db.prepare('DELETE FROM baselines WHERE name = ?').run(name);
        this.db
          .prepare('INSERT INTO baselines (name, fingerprint, scenario_id, created_at, note) VALUES (?, ?, ?, ?, ?)')
          .run(name, [...fps][0], [...scn][0], new Date().toISOString(), options.note ?? null);
        const link = this.db.prepare('INSERT OR IGNORE INTO baseline_runs (name, session_id, run) VALUES (?, ?, ?)');
        for (const r of records) link.run(name, r.session.id, r.session.run);
        return this.baselineInfo(name) as BaselineInfo;
      }).immediate(),
    );
  }

  baselineInfo(name: string): BaselineInfo | undefined {
    return this.run(
      () =>
        this.db
          .prepare(
            `SELECT b.name, b.fingerprint, b.scenario_id AS scenarioId, b.created_at AS createdAt, b.note,
                    (SELECT count(*) FROM baseline_runs x WHERE x.name = b.name) AS runs,
                    (SELECT count(DISTINCT session_id) FROM baseline_runs x WHERE x.name = b.name) AS sessions
             FROM baselines b WHERE b.name = ?`,
          )
          .get(name) as BaselineInfo | undefined,
    );
  }

  listBaselines(): BaselineInfo[] {
    const names = this.run(() => this.db.prepare('SELECT name FROM baselines ORDER BY name').all() as Array<{ name: string }>);
    return names.map((n) => this.baselineInfo(n.name) as BaselineInfo);
  }

  /** The records of a named baseline, or undefined when there is no such baseline. */
  baselineRecords(name: string): RunRecord[] | undefined {
    if (!this.baselineInfo(name)) return undefined;
    const samples = this.db.prepare('SELECT kind, data FROM samples WHERE session_id = ? AND run = ?');
    const rows = this.run(
      () =>
        this.db
          .prepare(
            `SELECT r.session_id AS sessionId, r.run, r.record FROM baseline_runs b
             JOIN runs r ON r.session_id = b.session_id AND r.run = b.run
             WHERE b.name = ? ORDER BY r.session_id, r.run`,
          )
          .all(name) as Array<{ sessionId: string; run: number; record: string }>,
    );
    return rows.map((row) => this.attach(row.sessionId, row, samples));
  }

  removeBaseline(name: string): boolean {
    return this.run(() => this.db.prepare('DELETE FROM baselines WHERE name = ?').run(name).changes > 0);
  }

  /** Counts, for tests and `baseline list`. */
  counts(): { sessions: number; runs: number; baselines: number } {
    const one = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return this.run(() => ({
      sessions: one('SELECT count(*) AS n FROM sessions'),
      runs: one('SELECT count(*) AS n FROM runs'),
      baselines: one('SELECT count(*) AS n FROM baselines'),
    }));
  }
}
