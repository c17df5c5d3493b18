import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { LongshotError, type ErrorBody } from '../../shared/errors';
import type { GenerateRequest, Job, JobState, JobWarning } from '../../shared/protocol';

/** Result of a finished clip, recorded with the job. */
export interface JobOutput {
  output: string;
  sha256: string;
  bytes: number;
}

interface JobRow {
  id: string;
  seq: number;
  state: JobState;
  request: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress_step: number | null;
  progress_total: number | null;
  error: string | null;
  output: string | null;
  sha256: string | null;
  bytes: number | null;
  model: string | null;
  warnings: string;
}

/** Columns added to the jobs table after its first release: a database made before gets them at open. */
const ADDED_COLUMNS: [name: string, definition: string][] = [
  ['model', 'TEXT'],
  ['warnings', "TEXT NOT NULL DEFAULT '[]'"],
];

/** The error every job that was running when the daemon died is given at the next start. */
export const INTERRUPTED_ERROR: ErrorBody = {
  code: 'interrupted',
  message: 'the daemon stopped while this job was running; retry it (POST /v1/jobs/:id/retry or the panel\'s Retry)',
};

/** SQLite's words for a file that is not, or no longer, a sound database. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** Opens the job database with the store's settings, after SQLite's quick check; throws (closed) when it is damaged. */
function openDatabase(file: string): Database.Database {
  // SQLite gives the -wal and -shm files the database file's mode: make it 0600 before SQLite opens it.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check') as { quick_check: string }[];
    if (check[0]?.quick_check !== 'ok') throw Object.assign(new Error(`quick_check: ${check.map((r) => r.quick_check).join('; ')}`), { code: 'SQLITE_CORRUPT' });
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Moves a damaged database (and its WAL, which belongs to it) to `<file>.corrupt-<time>`; returns that name. */
function moveAside(file: string, now: Date): string {
  const movedTo = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(file, movedTo);
  if (fs.existsSync(`${file}-wal`)) fs.renameSync(`${file}-wal`, `${movedTo}-wal`);
  fs.rmSync(`${file}-shm`, { force: true });
  return movedTo;
}

/** SQLite could not write because the disk is full: the daemon's `disk_full`, saying what to free. */
function noSpace(file: string, err: unknown): LongshotError {
  return new LongshotError('disk_full', `no space left on the disk of ${file} to record jobs; free space there (delete old jobs and their clips, or lower --keep-jobs) or set another --data-dir`, { cause: err });
}

/**
 * Durable job records in one SQLite file. Every state change is one committed transaction (WAL, synchronous=FULL),
 * so a `kill -9` loses at most the change being made. No job logic lives here: the queue decides, the store records.
 * A file SQLite finds damaged at open is moved aside (see {@link damaged}) and a new, empty one is made; a write on a
 * full disk throws `disk_full`.
 */
export class JobStore {
  private readonly db: Database.Database;
  /** Set when the file was damaged at open: where it was moved, and what SQLite said. */
  readonly damaged: { movedTo: string; reason: string } | null = null;

  constructor(private readonly file: string, private readonly now: () => Date = () => new Date()) {
    try {
      this.db = openDatabase(file);
    } catch (err) {
      if (!DAMAGE_CODES.has((err as { code?: string }).code ?? '')) throw err;
      this.damaged = { movedTo: moveAside(file, this.now()), reason: (err as Error).message };
      this.db = openDatabase(file);
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        request TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        progress_step INTEGER,
        progress_total INTEGER,
        error TEXT,
        output TEXT,
        sha256 TEXT,
        bytes INTEGER
      );
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);
    `);
    const columns = new Set((this.db.prepare(`PRAGMA table_info(jobs)`).all() as { name: string }[]).map((c) => c.name));
    for (const [name, definition] of ADDED_COLUMNS) if (!columns.has(name)) this.db.exec(`ALTER TABLE jobs ADD COLUMN ${name} ${definition}`);
  }

  /** Marks every job left `running` by a dead process as `interrupted`; returns their ids. */
  recoverInterrupted(): string[] {
    const rows = this.db.prepare(`SELECT id FROM jobs WHERE state = 'running'`).all() as { id: string }[];
    this.run(`UPDATE jobs SET state = 'interrupted', error = ?, finished_at = ? WHERE state = 'running'`, JSON.stringify(INTERRUPTED_ERROR), this.now().toISOString());
    return rows.map((r) => r.id);
  }

  create(request: GenerateRequest): Job {
    const id = randomUUID();
    this.run(`INSERT INTO jobs (id, state, request, created_at, model) VALUES (?, 'queued', ?, ?, ?)`, id, JSON.stringify(request), this.now().toISOString(), request.model ?? null);
    return this.get(id)!;
  }

  get(id: string): Job | null {
    const row = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  /**
   * One page of jobs, newest first: at most `limit`, older than the job `before` when given (null when there is no
   * such job). `next` is the id to pass as `before` for the following page, or null after the last.
   */
  list(page: { limit: number; before?: string }): { jobs: Job[]; next: string | null } | null {
    let rows: JobRow[];
    if (page.before === undefined) {
      rows = this.db.prepare(`SELECT * FROM jobs ORDER BY seq DESC LIMIT ?`).all(page.limit + 1) as JobRow[];
    } else {
      const cursor = this.db.prepare(`SELECT seq FROM jobs WHERE id = ?`).get(page.before) as { seq: number } | undefined;
      if (!cursor) return null;
      rows = this.db.prepare(`SELECT * FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?`).all(cursor.seq, page.limit + 1) as JobRow[];
    }
    const more = rows.length > page.limit;
    const jobs = rows.slice(0, page.limit).map(toJob);
    return { jobs, next: more ? jobs[jobs.length - 1]!.id : null };
  }

  /** Ended jobs past the newest `keep` of them, or that ended before `endedBefore`: those retention removes. */
  expired(keep: number, endedBefore: Date): Job[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM jobs WHERE state IN ('done', 'failed', 'cancelled', 'interrupted')
           AND (finished_at < ? OR seq NOT IN (
             SELECT seq FROM jobs WHERE state IN ('done', 'failed', 'cancelled', 'interrupted') ORDER BY seq DESC LIMIT ?))`,
      )
      .all(endedBefore.toISOString(), keep) as JobRow[];
    return rows.map(toJob);
  }

  /** Removes a job's record. */
  delete(id: string): void {
    this.run(`DELETE FROM jobs WHERE id = ?`, id);
  }

  /** The stored request of every job (which reference files some job still names). */
  requests(): GenerateRequest[] {
    return (this.db.prepare(`SELECT request FROM jobs`).all() as { request: string }[]).map((row) => JSON.parse(row.request) as GenerateRequest);
  }

  countInState(state: JobState): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE state = ?`).get(state) as { n: number }).n;
  }

  /** The oldest queued job, or null. */
  nextQueued(): Job | null {
    const row = this.db.prepare(`SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1`).get() as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  markRunning(id: string): Job {
    this.run(`UPDATE jobs SET state = 'running', started_at = ?, error = NULL WHERE id = ?`, this.now().toISOString(), id);
    return this.get(id)!;
  }

  /** Progress is advisory: written so `GET /v1/jobs/:id` shows it, without fsync per step. */
  setProgress(id: string, step: number, total: number): void {
    this.run(`UPDATE jobs SET progress_step = ?, progress_total = ? WHERE id = ?`, step, total, id);
  }

  /** Records the package that runs a job, once it is chosen. */
  setModel(id: string, model: string): Job {
    this.run(`UPDATE jobs SET model = ? WHERE id = ?`, model, id);
    return this.get(id)!;
  }

  /** Adds a warning to a job's list. */
  addWarning(id: string, warning: JobWarning): Job {
    this.run(`UPDATE jobs SET warnings = json_insert(warnings, '$[#]', json(?)) WHERE id = ?`, JSON.stringify(warning), id);
    return this.get(id)!;
  }

  markDone(id: string, out: JobOutput): Job {
    this.run(`UPDATE jobs SET state = 'done', finished_at = ?, output = ?, sha256 = ?, bytes = ?, error = NULL WHERE id = ?`, this.now().toISOString(), out.output, out.sha256, out.bytes, id);
    return this.get(id)!;
  }

  markEnded(id: string, state: 'failed' | 'cancelled' | 'interrupted', error: ErrorBody): Job {
    this.run(`UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ?`, state, this.now().toISOString(), JSON.stringify(error), id);
    return this.get(id)!;
  }

  /** Puts an ended job back in the queue with its stored request, as new: its model is chosen again unless the request names one. */
  requeue(id: string): Job {
    this.run(
      `UPDATE jobs SET state = 'queued', seq = (SELECT MAX(seq) + 1 FROM jobs), started_at = NULL, finished_at = NULL,
         progress_step = NULL, progress_total = NULL, error = NULL, output = NULL, sha256 = NULL, bytes = NULL,
         model = json_extract(request, '$.model'), warnings = '[]' WHERE id = ?`,
      id,
    );
    return this.get(id)!;
  }

  close(): void {
    this.db.close();
  }

  /** Runs one write; SQLite's "database or disk is full" becomes `disk_full`. */
  private run(sql: string, ...params: unknown[]): void {
    try {
      this.db.prepare(sql).run(...params);
    } catch (err) {
      throw (err as { code?: string }).code === 'SQLITE_FULL' ? noSpace(this.file, err) : err;
    }
  }
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    state: row.state,
    request: JSON.parse(row.request) as GenerateRequest,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    progress: row.progress_total === null ? null : { step: row.progress_step ?? 0, total: row.progress_total },
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorBody),
    output: row.output,
    sha256: row.sha256,
    bytes: row.bytes,
    model: row.model,
    warnings: JSON.parse(row.warnings) as JobWarning[],
  };
}
