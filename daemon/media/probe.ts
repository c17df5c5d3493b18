import { LongshotError } from '../../shared/errors';
import { resolveMediaFile, unusableMedia } from './media-path';
import { FfmpegError, type Ffmpeg } from './run-ffmpeg';

/** What the decoder needs to know of a media file. */
export interface MediaInfo {
  /** Seconds, or null for a still image. */
  durationSeconds: number | null;
  width: number;
  height: number;
  /** Frames per second of the video stream (e.g. 23.976…), or null for a still. */
  fps: number | null;
  codec: string;
  still: boolean;
}

/** Demuxers a reference may be read with: video containers, animated GIFs and single images. Playlists (HLS), concat lists and
 * everything else that would open further files or URLs are refused by ffmpeg itself. */
export const REFERENCE_FORMATS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mxf,mpegts,gif,image2,png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,tiff_pipe';
/** How long probing or decoding a reference may take before ffmpeg is killed. */
export const REFERENCE_TIMEOUT_MS = 60_000;
/**
 * A reference that cannot be used is refused no sooner than this after probing began, whatever the reason: a missing
 * path would otherwise fail in a millisecond and an unreadable file after ffmpeg's run, telling which paths exist.
 */
export const UNUSABLE_MIN_MS = 500;

/** Options of reading a reference: the job's abort signal and a time limit. */
export interface ReferenceReadOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * The most pixels a reference picture may have (8192x4608, above 8K): ffmpeg refuses a larger one as it reads its
 * header (`-max_pixels`), before it allocates frames (a 2 MB PNG of 16000x16000 would cost it gigabytes).
 */
export const MAX_REFERENCE_PIXELS = 8192 * 4608;

/** ffmpeg input options for a reference file (resolved by {@link resolveMediaFile}): only the formats above, pictures up to {@link MAX_REFERENCE_PIXELS}. */
export function referenceInput(file: string): string[] {
  return ['-format_whitelist', REFERENCE_FORMATS, '-max_pixels', String(MAX_REFERENCE_PIXELS), '-i', `file:${file}`];
}

/** The error for a reference picture over {@link MAX_REFERENCE_PIXELS}, when that is why ffmpeg failed; else null. */
export function pictureTooLarge(err: unknown, field: string, what: string): LongshotError | null {
  const size = err instanceof FfmpegError ? err.pixelsOverLimit : null;
  if (!size) return null;
  return new LongshotError('media_unreadable', `${field}: ${what} is ${size} pixels; references may have at most ${(MAX_REFERENCE_PIXELS / 1e6).toFixed(1)} megapixels (8192x4608): scale it down`, { field, cause: err });
}

/**
 * Probes a media file with `ffmpeg -i` (no ffprobe ships with the bundled ffmpeg). The path must be an absolute
 * regular file (see media-path.ts); errors name `field` and never tell a missing file from an unreadable one.
 * Returns the resolved file with what was found.
 */
export async function probeMedia(ffmpeg: Ffmpeg, mediaPath: string, field: string, options: ReferenceReadOptions = {}): Promise<MediaInfo & { file: string }> {
  const started = Date.now();
  const unusable = async (cause?: unknown): Promise<never> => {
    await new Promise((resolve) => setTimeout(resolve, UNUSABLE_MIN_MS - (Date.now() - started)));
    throw unusableMedia(field, mediaPath, cause);
  };
  const file = await resolveMediaFile(mediaPath, field).catch((err: unknown) => (err instanceof LongshotError && err.code === 'media_unreadable' ? unusable(err) : Promise.reject(err)));
  let stderr: string;
  try {
    // Decoding one frame proves the file is readable, not just that its header parses.
    ({ stderr } = await ffmpeg.run([...referenceInput(file), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'], { signal: options.signal, timeoutMs: options.timeoutMs ?? REFERENCE_TIMEOUT_MS }));
  } catch (err) {
    if (!(err instanceof FfmpegError)) throw err;
    throw pictureTooLarge(err, field, mediaPath) ?? (await unusable(err));
  }
  const video = /Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})[^\n]*/.exec(stderr);
  if (!video) return unusable();
  const line = video[0];
  const fpsMatch = /([\d.]+) fps/.exec(line) ?? /([\d.]+) tbr/.exec(line);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const codec = video[1]!;
  const still = (/Input #0, (png_pipe|jpeg_pipe|image2|webp_pipe|bmp_pipe|tiff_pipe)/.test(stderr) || !duration);
  const fps = still ? null : fpsMatch ? exactRate(Number(fpsMatch[1])) : null;
  return {
    durationSeconds: still || !duration ? null : Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]),
    width: Number(video[2]),
    height: Number(video[3]),
    fps,
    codec,
    still,
    file,
  };
}

/** ffmpeg prints 23.98 and 29.97; timelines mean 24000/1001 and 30000/1001. */
export function exactRate(printed: number): number {
  for (const base of [24, 30, 48, 60, 120]) {
    const ntsc = (base * 1000) / 1001;
    if (Math.abs(printed - ntsc) < 0.006) return ntsc;
  }
  return printed;
}

/** An fps as the rational ffmpeg wants: 30000/1001 for 29.97 (or 30000/1001), 25/1 for 25. */
export function fpsRational(fps: number): string {
  const exact = exactRate(fps);
  const ntsc = !Number.isInteger(exact) && Math.abs(exact * 1001 - Math.round(exact * 1001)) < 1e-6;
  if (ntsc) return `${Math.round(exact * 1001)}/1001`;
  if (Number.isInteger(fps)) return `${fps}/1`;
  return `${Math.round(fps * 1000)}/1000`;
}
