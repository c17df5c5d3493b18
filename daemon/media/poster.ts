import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';
import { coverScale, TEMP_MARK } from './encode';
import { FfmpegError, type Ffmpeg } from './run-ffmpeg';

/** Options of {@link encodePoster}. */
export interface PosterOptions {
  /** Size of the frame given (packed RGB24, [H, W, 3]). */
  width: number;
  height: number;
  /** Size of the JPEG: the clip's, so the poster shows what the clip shows. */
  outWidth: number;
  outHeight: number;
  outputPath: string;
  signal?: AbortSignal;
}

/**
 * Writes one frame as a baseline JPEG at the clip's size (Lanczos, like the clip), atomically and 0600: ffmpeg
 * writes a temp file beside the poster that is renamed over it once complete, and removed on any failure.
 */
export async function encodePoster(ffmpeg: Ffmpeg, frame: Uint8Array, options: PosterOptions): Promise<string> {
  const { width, height, outWidth, outHeight, outputPath } = options;
  const temp = path.join(path.dirname(outputPath), `.${path.basename(outputPath)}${TEMP_MARK}${randomBytes(4).toString('hex')}`);
  const args = [
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-vf', coverScale(outWidth, outHeight), '-frames:v', '1', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '3', '-f', 'mjpeg', '-y', temp,
  ];
  try {
    await ffmpeg.run(args, { input: [frame], signal: options.signal });
    await fs.chmod(temp, 0o600);
    await fs.rename(temp, outputPath);
    return outputPath;
  } catch (err) {
    await fs.rm(temp, { force: true });
    if (err instanceof FfmpegError) throw new LongshotError('internal', `writing the poster ${path.basename(outputPath)} failed: ${err.message}`, { cause: err });
    throw err;
  }
}
