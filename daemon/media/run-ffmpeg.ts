import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';

/** ffmpeg exited non-zero: its exit code and the end of what it printed. */
export class FfmpegError extends Error {
  constructor(readonly exitCode: number | null, readonly stderr: string) {
    super(`ffmpeg exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'FfmpegError';
  }

  /** Whether ffmpeg failed because the disk is full. */
  get noSpace(): boolean {
    return /No space left on device/i.test(this.stderr);
  }

  /** The picture size ffmpeg refused for being over its `-max_pixels` ("16000x16000"), or null. */
  get pixelsOverLimit(): string | null {
    return /Picture size (\d+x\d+) exceeds specified max pixel count/.exec(this.stderr)?.[1] ?? null;
  }
}

/** Options of one ffmpeg run. */
export interface RunOptions {
  /** Written to ffmpeg's stdin in order, with backpressure; stdin is closed after the last chunk. */
  input?: Iterable<Uint8Array> | Buffer;
  signal?: AbortSignal;
  /** ffmpeg is killed and the run rejects with `engine_failed` after this long (default {@link FFMPEG_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** The longest any one ffmpeg run may take unless its caller says otherwise. */
export const FFMPEG_TIMEOUT_MS = 10 * 60_000;
/** Protocols every ffmpeg input may use: local files and our own pipes, never the network. */
export const PROTOCOL_WHITELIST = 'file,pipe';

/**
 * The ffmpeg processes this daemon has running. Each runs in its own process group, so a kill reaches anything it
 * started; with a pid folder set, each also has a pid file there, so a daemon that was `kill -9`ed can have its
 * orphans swept at the next start ({@link sweepOrphanFfmpeg}).
 */
export class FfmpegChildren {
  private readonly live = new Set<ChildProcess>();

  constructor(private readonly pidDir: string | null = null) {
    if (pidDir) fs.mkdirSync(pidDir, { recursive: true, mode: 0o700 });
  }

  /** Records a child; throws `disk_full` or `internal` (naming the pid folder) when its pid file cannot be written. */
  add(child: ChildProcess, binary: string): void {
    if (this.pidDir && child.pid) {
      const file = path.join(this.pidDir, `${child.pid}.pid`);
      try {
        fs.writeFileSync(file, JSON.stringify({ pid: child.pid, binary }), { mode: 0o600 });
      } catch (err) {
        fs.rmSync(file, { force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC') throw new LongshotError('disk_full', `no space left on the disk of ${this.pidDir} to record the ffmpeg a job runs; free space there (delete old jobs and their clips) or set another --data-dir`, { cause: err });
        throw new LongshotError('internal', `cannot record the ffmpeg a job runs in ${this.pidDir} (${code}); make that folder writable by this user`, { cause: err });
      }
    }
    this.live.add(child);
  }

  remove(child: ChildProcess): void {
    this.live.delete(child);
    if (this.pidDir && child.pid) fs.rmSync(path.join(this.pidDir, `${child.pid}.pid`), { force: true });
  }

  /** Kills every running ffmpeg (synchronously: safe in an `exit` handler). */
  killAll(): void {
    for (const child of this.live) killGroup(child.pid);
  }
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Kills the ffmpeg processes listed in `pidDir` by a daemon that died without cleaning up, and removes their pid
 * files. A pid is only killed while /proc says it still runs the recorded binary (pids are reused); elsewhere than
 * Linux the files are only removed. Returns the pids killed.
 */
export function sweepOrphanFfmpeg(pidDir: string): number[] {
  const killed: number[] = [];
  for (const name of fs.existsSync(pidDir) ? fs.readdirSync(pidDir) : []) {
    const file = path.join(pidDir, name);
    try {
      const { pid, binary } = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; binary: string };
      const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
      if (Number.isInteger(pid) && pid > 1 && argv0 === binary) {
        killGroup(pid);
        killed.push(pid);
      }
    } catch {
      // not running any more, or not ours
    }
    fs.rmSync(file, { force: true });
  }
  return killed;
}

/** ffmpeg's own input options that keep every input on local files and pipes; inserted before each `-i`. */
function confineInputs(args: string[]): string[] {
  return args.flatMap((arg, i) => (arg === '-i' && args[i - 1] !== '-protocol_whitelist' ? ['-protocol_whitelist', PROTOCOL_WHITELIST, arg] : [arg]));
}

/** A working ffmpeg binary, its version, and that version's major number (null for a git build such as N-47683). */
export interface FfmpegBinary {
  path: string;
  version: string;
  major: number | null;
  /** Where it came from: the setting, PATH, or the npm package bundled with Longshot. */
  source: 'setting' | 'path' | 'bundled';
}

/**
 * One ffmpeg binary and the processes it has running. A composition root (the daemon, a CLI command) makes one with
 * {@link resolveFfmpeg} and passes it to everything that runs ffmpeg; the daemon's tracks its children in its pid
 * folder, so they die with it and a crashed daemon's are swept.
 */
export class Ffmpeg implements FfmpegBinary {
  readonly path: string;
  readonly version: string;
  readonly major: number | null;
  readonly source: FfmpegBinary['source'];

  constructor(binary: FfmpegBinary, private readonly children: FfmpegChildren = new FfmpegChildren()) {
    ({ path: this.path, version: this.version, major: this.major, source: this.source } = binary);
  }

  /**
   * Runs ffmpeg and collects stdout (binary) and stderr (text). Every input is limited to `file,pipe` protocols.
   * Aborting kills ffmpeg (its whole process group) and rejects with a `cancelled` LongshotError; passing
   * `timeoutMs` kills it and rejects with `engine_failed`; a non-zero exit rejects with FfmpegError.
   */
  run(args: string[], options: RunOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
    const { path: binary, children } = this;
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new LongshotError('cancelled', 'cancelled'));
      // -nostdin stops ffmpeg reading the terminal; with piped input stdin is ours.
      const child = spawn(binary, ['-hide_banner', ...(options.input ? [] : ['-nostdin']), ...confineInputs(args)], {
        stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
      });
      try {
        children.add(child, binary);
      } catch (err) {
        // A child nobody tracks would outlive a crash unswept, and one waiting on stdin would wait forever: it goes now.
        child.once('error', () => undefined);
        killGroup(child.pid);
        return reject(err);
      }
      const out: Buffer[] = [];
      let err = '';
      let ended: 'aborted' | 'timeout' | null = null;
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        if (err.length > 64_000) err = err.slice(-32_000);
      });
      const stop = (why: 'aborted' | 'timeout') => {
        ended ??= why;
        killGroup(child.pid);
      };
      const onAbort = () => stop('aborted');
      const timeoutMs = options.timeoutMs ?? FFMPEG_TIMEOUT_MS;
      const timer = setTimeout(() => stop('timeout'), timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanUp = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        children.remove(child);
      };
      child.once('error', (e) => {
        cleanUp();
        reject(new LongshotError('internal', `cannot run ffmpeg at ${binary}: ${e.message}`, { cause: e }));
      });
      child.once('close', (code) => {
        cleanUp();
        if (ended === 'aborted') reject(new LongshotError('cancelled', 'cancelled'));
        else if (ended === 'timeout') reject(new LongshotError('engine_failed', `ffmpeg took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`));
        else if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
        else reject(new FfmpegError(code, err));
      });
      if (options.input) void feed(child.stdin!, options.input);
    });
  }
}

/** Writes chunks with backpressure; a closed pipe (ffmpeg died) just stops the feed: its exit reports why. */
async function feed(stdin: NodeJS.WritableStream, input: Iterable<Uint8Array> | Buffer): Promise<void> {
  let broken = false;
  stdin.on('error', () => (broken = true));
  const chunks = Buffer.isBuffer(input) ? [input] : input;
  for (const chunk of chunks) {
    if (broken) return;
    if (!stdin.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => (stdin.off('drain', done), stdin.off('error', done), stdin.off('close', done), resolve());
        stdin.on('drain', done).on('error', done).on('close', done);
      });
    }
  }
  if (!broken) stdin.end();
}
