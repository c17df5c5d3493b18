import { access } from 'node:fs/promises';
import { LongshotError } from '../../shared/errors';
import { FfmpegError, runFfmpeg } from './run-ffmpeg';

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

/** A printf-style image sequence path such as `/shots/frame_%05d.png`. */
export function isImageSequence(mediaPath: string): boolean {
  return /%0?\d*d/.test(mediaPath);
}

/**
 * Probes a media file with `ffmpeg -i` (no ffprobe ships with the bundled ffmpeg). Errors name `field` and say
 * what is wrong with the file.
 */
export async function probeMedia(ffmpegPath: string, mediaPath: string, field: string, sequenceFps = 25): Promise<MediaInfo> {
  if (!isImageSequence(mediaPath)) {
    try {
      await access(mediaPath);
    } catch {
      throw new LongshotError('media_unreadable', `${field}: no file at ${mediaPath}; give the absolute path of a media file on this machine`, { field });
    }
  }
  const input = isImageSequence(mediaPath) ? ['-framerate', String(sequenceFps), '-i', mediaPath] : ['-i', mediaPath];
  let stderr: string;
  try {
    // Decoding one frame proves the file is readable, not just that its header parses.
    ({ stderr } = await runFfmpeg(ffmpegPath, [...input, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-']));
  } catch (err) {
    const why = err instanceof FfmpegError ? /Invalid data|could not find codec|does not contain any stream|matches no streams/i.exec(err.stderr)?.[0] ?? 'ffmpeg cannot decode it' : (err as Error).message;
    throw new LongshotError('media_unreadable', `${field}: ${mediaPath} is not readable video or image media (${why}); export it as H.264/HEVC MP4, ProRes MOV, PNG or JPEG`, { field, cause: err });
  }
  const video = /Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})[^\n]*/.exec(stderr);
  if (!video) throw new LongshotError('media_unreadable', `${field}: ${mediaPath} has no video stream; give a clip or an image`, { field });
  const line = video[0];
  const fpsMatch = /([\d.]+) fps/.exec(line) ?? /([\d.]+) tbr/.exec(line);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const codec = video[1]!;
  const still = !isImageSequence(mediaPath) && (/Input #0, (png_pipe|jpeg_pipe|image2|webp_pipe|bmp_pipe|tiff_pipe)/.test(stderr) || !duration);
  const fps = still ? null : fpsMatch ? exactRate(Number(fpsMatch[1])) : null;
  return {
    durationSeconds: still || !duration ? null : Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]),
    width: Number(video[2]),
    height: Number(video[3]),
    fps,
    codec,
    still,
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
