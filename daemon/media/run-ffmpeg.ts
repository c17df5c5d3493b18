import { spawn } from 'node:child_process';
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
}

/** Options of one ffmpeg run. */
export interface RunOptions {
  /** Written to ffmpeg's stdin in order, with backpressure; stdin is closed after the last chunk. */
  input?: Iterable<Uint8Array> | Buffer;
  signal?: AbortSignal;
}

/**
 * Runs ffmpeg and collects stdout (binary) and stderr (text). Aborting kills ffmpeg and rejects with a
 * `cancelled` LongshotError; a non-zero exit rejects with FfmpegError.
 */
export function runFfmpeg(ffmpegPath: string, args: string[], options: RunOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new LongshotError('cancelled', 'cancelled'));
    // -nostdin stops ffmpeg reading the terminal; with piped input stdin is ours.
    const child = spawn(ffmpegPath, ['-hide_banner', ...(options.input ? [] : ['-nostdin']), ...args], {
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    let aborted = false;
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => reject(new LongshotError('internal', `cannot run ffmpeg at ${ffmpegPath}: ${e.message}`, { cause: e })));
    child.once('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (aborted) reject(new LongshotError('cancelled', 'cancelled'));
      else if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else reject(new FfmpegError(code, err));
    });
    if (options.input) void feed(child.stdin!, options.input);
  });
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
