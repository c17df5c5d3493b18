import { execFile } from 'node:child_process';
import { LongshotError } from '../../shared/errors';
import { Ffmpeg, FfmpegChildren, type FfmpegBinary } from './run-ffmpeg';

/** ffmpeg older than this misses years of decoder and demuxer memory-safety fixes; `doctor` warns about it. */
export const MIN_FFMPEG_MAJOR = 5;

/** The major version of an ffmpeg version string: 5 for "5.1.9-0+deb12u1", null for git builds ("N-47683-g…"). */
export function ffmpegMajor(version: string): number | null {
  const match = /^n?(\d+)\./.exec(version);
  return match ? Number(match[1]) : null;
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
 * Finds a working ffmpeg: the explicit path (--ffmpeg-path / LONGSHOT_FFMPEG); else `ffmpeg` on PATH when it is
 * version 5 or later; only then the bundled binary (a 2018 build), and an older PATH ffmpeg last. An explicit path
 * that does not run is an error, never silently replaced. Its runs are tracked in `children` (the daemon's has a pid
 * folder; by default, a registry of the returned object's own).
 */
export async function resolveFfmpeg(explicit: string | null, children: FfmpegChildren = new FfmpegChildren()): Promise<Ffmpeg> {
  const failures: string[] = [];
  const tryOne = async (candidate: string, source: FfmpegBinary['source']): Promise<Ffmpeg | null> => {
    try {
      const version = await versionOf(candidate);
      return new Ffmpeg({ path: candidate, version, major: ffmpegMajor(version), source }, children);
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error).message.split('\n')[0]}`);
      return null;
    }
  };
  if (explicit) {
    const found = await tryOne(explicit, 'setting');
    if (found) return found;
    throw new LongshotError('internal', `LONGSHOT_FFMPEG / --ffmpeg-path "${explicit}" does not run (${failures[0]}); point it at an ffmpeg binary or unset it`);
  }
  const onPath = await tryOne('ffmpeg', 'path');
  if (onPath && (onPath.major ?? 0) >= MIN_FFMPEG_MAJOR) return onPath;
  const bundled = bundledFfmpeg();
  const fromPackage = bundled ? await tryOne(bundled, 'bundled') : null;
  const found = fromPackage ?? onPath;
  if (found) return found;
  throw new LongshotError('internal', `no working ffmpeg (${failures.join('; ')}); install ffmpeg 5 or later (apt install ffmpeg) or set LONGSHOT_FFMPEG`);
}
