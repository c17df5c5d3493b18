import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { ErrorBody } from '../../shared/errors';
import type { GenerateRequest, Job, JobState } from '../../shared/protocol';

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
}

/** The error every job that was running when the daemon died is given at the next start. */
export const INTERRUPTED_ERROR: ErrorBody = {
  code: 'interrupted',
  message: 'the daemon stopped while this job was running; retry it (POST /v1/jobs/:id/retry or the panel\'s Retry)',
};

/**
 * Durable job records in one SQLite file. Every state change is one committed transaction (WAL, synchronous=FULL),
 * so a `kill -9` loses at most the change being made. No job logic lives here: the queue decides, the store records.
 */
export class JobStore {
  private readonly db: Database.Database;

  constructor(file: string, private readonly now: () => Date = () => new Date()) {
    // SQLite gives the -wal and -shm files the database file's mode: make it 0600 before SQLite opens it.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
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
  }

  /** Marks every job left `running` by a dead process as `interrupted`; returns their ids. */
  recoverInterrupted(): string[] {
    const rows = this.db.prepare(`SELECT id FROM jobs WHERE state = 'running'`).all() as { id: string }[];
    this.db
      .prepare(`UPDATE jobs SET state = 'interrupted', error = ?, finished_at = ? WHERE state = 'running'`)
      .run(JSON.stringify(INTERRUPTED_ERROR), this.now().toISOString());
    return rows.map((r) => r.id);
  }

  create(request: GenerateRequest): Job {
    const id = randomUUID();
    this.db
      .prepare(`INSERT INTO jobs (id, state, request, created_at) VALUES (?, 'queued', ?, ?)`)
      .run(id, JSON.stringify(request), this.now().toISOString());
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
    this.db.prepare(`DELETE FROM jobs WHERE id = ?`).run(id);
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
    this.db.prepare(`UPDATE jobs SET state = 'running', started_at = ?, error = NULL WHERE id = ?`).run(this.now().toISOString(), id);
    return this.get(id)!;
  }

  /** Progress is advisory: written so `GET /v1/jobs/:id` shows it, without fsync per step. */
  setProgress(id: string, step: number, total: number): void {
    this.db.prepare(`UPDATE jobs SET progress_step = ?, progress_total = ? WHERE id = ?`).run(step, total, id);
  }

  markDone(id: string, out: JobOutput): Job {
    this.db
      .prepare(`UPDATE jobs SET state = 'done', finished_at = ?, output = ?, sha256 = ?, bytes = ?, error = NULL WHERE id = ?`)
      .run(this.now().toISOString(), out.output, out.sha256, out.bytes, id);
    return this.get(id)!;
  }

  markEnded(id: string, state: 'failed' | 'cancelled' | 'interrupted', error: ErrorBody): Job {
    this.db
      .prepare(`UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ?`)
      .run(state, this.now().toISOString(), JSON.stringify(error), id);
    return this.get(id)!;
  }

  /** Puts an ended job back in the queue with its stored request, as new. */
  requeue(id: string): Job {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', seq = (SELECT MAX(seq) + 1 FROM jobs), started_at = NULL, finished_at = NULL,
           progress_step = NULL, progress_total = NULL, error = NULL, output = NULL, sha256 = NULL, bytes = NULL WHERE id = ?`,
      )
      .run(id);
    return this.get(id)!;
  }

  close(): void {
    this.db.close();
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
  };
}
