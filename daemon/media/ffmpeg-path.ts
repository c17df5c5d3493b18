import { execFile } from 'node:child_process';
import { LongshotError } from '../../shared/errors';

/** A working ffmpeg binary and its version line. */
export interface Ffmpeg {
  path: string;
  version: string;
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.split('\n')[0]!.replace(/^ffmpeg version /, '').split(' ')[0]!);
    });
  });
}

/** The ffmpeg that ships in the npm package @ffmpeg-installer/ffmpeg, or null on platforms it lacks. */
function bundledFfmpeg(): string | null {
  try {
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return null;
  }
}

/**
 * Finds a working ffmpeg: the explicit path (LONGSHOT_FFMPEG), else the bundled binary, else `ffmpeg` on PATH.
 * An explicit path that does not run is an error, never silently replaced.
 */
export async function resolveFfmpeg(explicit: string | null): Promise<Ffmpeg> {
  const candidates = explicit ? [explicit] : [bundledFfmpeg(), 'ffmpeg'].filter((c): c is string => c !== null);
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return { path: candidate, version: await versionOf(candidate) };
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new LongshotError(
    'internal',
    explicit
      ? `LONGSHOT_FFMPEG / --ffmpeg-path "${explicit}" does not run (${failures[0]}); point it at an ffmpeg binary or unset it`
      : `no working ffmpeg (${failures.join('; ')}); run npm install again or set LONGSHOT_FFMPEG`,
  );
}
