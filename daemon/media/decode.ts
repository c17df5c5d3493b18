import { LongshotError } from '../../shared/errors';
import { MAX_REFERENCE_PIXELS, pictureTooLarge, probeMedia, referenceInput, REFERENCE_TIMEOUT_MS, type ReferenceReadOptions } from './probe';
import { FfmpegError, type Ffmpeg } from './run-ffmpeg';

/** Where the wanted frames lie relative to `timeSeconds`. */
export type FrameSide = 'before' | 'after';

/** Options of {@link readFramesAt}. */
export interface ReadFramesOptions extends ReferenceReadOptions {
  /** Media time of the frame at the seam: the last frame returned for `before`, the first for `after`. */
  timeSeconds: number;
  count: number;
  side: FrameSide;
  width: number;
  height: number;
  /** Request field to name in errors. */
  field: string;
}

// Scale to cover the target and centre-crop, so the model's aspect ratio is kept and nothing is letterboxed.
function coverFilter(width: number, height: number): string {
  return `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=lanczos,crop=${width}:${height},format=rgb24`;
}

function splitFrames(raw: Buffer, width: number, height: number): Uint8Array[] {
  const size = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset + size <= raw.length; offset += size) frames.push(new Uint8Array(raw.buffer, raw.byteOffset + offset, size));
  return frames;
}

/**
 * Reads up to `count` RGB24 frames (packed [H, W, 3]) of a clip next to a time, resized to width × height:
 * for `before` the frames ending at the frame shown at `timeSeconds` (an extend's out point), oldest first; for
 * `after` the frames starting there. A still image yields its one frame; media shorter than asked yields fewer.
 */
export async function readFramesAt(ffmpeg: Ffmpeg, mediaPath: string, options: ReadFramesOptions): Promise<Uint8Array[]> {
  const { timeSeconds, count, side, width, height, field } = options;
  const info = await probeMedia(ffmpeg, mediaPath, field, options);
  const input = referenceInput(info.file);
  const run = (args: string[]) => decodeOrExplain(ffmpeg, args, mediaPath, field, options);
  // -vsync 0 passes frames through as decoded: no frame is duplicated or dropped to fit a rate.
  const output = (filter: string) => ['-map', '0:v:0', '-vsync', '0', '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const cover = coverFilter(width, height);
  if (info.still) {
    const { stdout } = await run([...input, '-frames:v', '1', ...output(cover)]);
    return splitFrames(stdout, width, height);
  }
  if (info.durationSeconds !== null && timeSeconds > info.durationSeconds + 1e-3) {
    throw new LongshotError('media_unreadable', `${field}: time ${timeSeconds} s is past the end of ${mediaPath} (${info.durationSeconds.toFixed(3)} s); pick a time inside the clip`, { field });
  }
  const frameSeconds = 1 / (info.fps ?? 30);
  // A frame whose timestamp is T is "the frame at T" despite rounding in the container; a millisecond of
  // slack covers that without reaching the next frame (a frame lasts ≥ 16 ms at 60 fps).
  const slack = Math.min(1e-3, frameSeconds / 4);
  if (side === 'after') {
    const args = ['-ss', Math.max(0, timeSeconds - slack).toFixed(6), ...input, '-frames:v', String(count), ...output(cover)];
    return splitFrames((await run(args)).stdout, width, height);
  }
  // `before`: seek a little earlier than the first wanted frame, keep frames whose own timestamp (-copyts) is at
  // most T, then the last `count` of them.
  const start = Math.max(0, timeSeconds - (count + 2) * frameSeconds);
  const upTo = `select='lte(t\\,${(timeSeconds + slack).toFixed(6)})',${cover}`;
  const readSeconds = timeSeconds - start + 2 * frameSeconds;
  const args = ['-ss', start.toFixed(6), '-t', readSeconds.toFixed(6), '-copyts', ...input, ...output(upTo)];
  const frames = splitFrames((await run(args)).stdout, width, height);
  return frames.slice(-count);
}

/** Decodes PNG or JPEG images (base64 or bytes) to RGB24 frames at width × height; a bad one is named by its index. */
export async function decodeImages(ffmpeg: Ffmpeg, images: (string | Buffer)[], width: number, height: number, field: string, options: ReferenceReadOptions = {}): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for (const [index, image] of images.entries()) {
    const bytes = typeof image === 'string' ? Buffer.from(image, 'base64') : image;
    const args = ['-format_whitelist', 'image2pipe', '-max_pixels', String(MAX_REFERENCE_PIXELS), '-f', 'image2pipe', '-i', 'pipe:0', '-frames:v', '1', '-vf', coverFilter(width, height), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
    try {
      const [frame] = splitFrames((await ffmpeg.run(args, { input: bytes, signal: options.signal, timeoutMs: options.timeoutMs ?? REFERENCE_TIMEOUT_MS })).stdout, width, height);
      if (!frame) throw new FfmpegError(0, 'no frame decoded');
      frames.push(frame);
    } catch (err) {
      if (err instanceof LongshotError) throw err;
      throw pictureTooLarge(err, `${field}[${index}]`, 'the image') ?? new LongshotError('media_unreadable', `${field}[${index}]: not a readable PNG or JPEG image; send base64 of the file's bytes`, { field: `${field}[${index}]`, cause: err });
    }
  }
  return frames;
}

async function decodeOrExplain(ffmpeg: Ffmpeg, args: string[], mediaPath: string, field: string, options: ReferenceReadOptions) {
  try {
    return await ffmpeg.run(args, { signal: options.signal, timeoutMs: options.timeoutMs ?? REFERENCE_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof FfmpegError) {
      throw new LongshotError('media_unreadable', `${field}: ffmpeg could not decode ${mediaPath} (${err.message}); re-export the clip as H.264 MP4 or ProRes`, { field, cause: err });
    }
    throw err;
  }
}
