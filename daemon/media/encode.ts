import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';
import { fpsRational } from './probe';
import { FfmpegError, type Ffmpeg } from './run-ffmpeg';
import { MAX_SIGNED_BYTES, signClip, type ContentCredentialsSigner } from './content-credentials';
import { embedXmp, xmpPacket, type Provenance } from './xmp';
import type { MovCodec, OutputFormat } from '../../shared/media-formats';


/** Options of {@link encodeClip}. */
export interface EncodeOptions {
  /** Size of the frames given. */
  width: number;
  height: number;
  fps: number;
  /** Size of the written clip (even numbers); frames are scaled with Lanczos. */
  outWidth: number;
  outHeight: number;
  format: OutputFormat;
  /** The codec of a `mov` (default ProRes 422). */
  codec?: MovCodec;
  /** Final path: a file for mp4/mov, a folder of frame_00001.png … for png. */
  outputPath: string;
  /** Container tags (title, comment, …); for png a `metadata.json` beside the frames. */
  metadata: Record<string, string>;
  /** How the clip was made, embedded as XMP (a `metadata.xmp` beside PNG frames). */
  provenance?: Provenance;
  /** Signs an MP4 or MOV with a C2PA manifest of the provenance (Content Credentials). */
  credentials?: ContentCredentialsSigner;
  signal?: AbortSignal;
}

/** A clip written in full at its final path. */
export interface EncodedClip {
  path: string;
  /** sha256 of the file; for a png folder, of its files' bytes concatenated in name order. */
  sha256: string;
  bytes: number;
  frames: number;
  /** Why the clip carries no C2PA manifest although a signer was given; null when it does or none was asked for. */
  unsignedBecause: string | null;
}

/** Marks unfinished outputs, so a sweep after a crash can find them. */
export const TEMP_MARK = '.longshot-tmp-';

/** The default output size: the native frame scaled by a whole factor to at least 256 px tall (H.264 4:2:0 keeps small objects' colour there). */
export function defaultOutputSize(nativeWidth: number, nativeHeight: number): { width: number; height: number } {
  const factor = Math.max(1, Math.ceil(256 / nativeHeight));
  const even = (n: number) => 2 * Math.round(n / 2);
  return { width: even(nativeWidth * factor), height: even(nativeHeight * factor) };
}

/** Scales RGB frames to cover width × height and centre-crops the rest, so an output size of another aspect than the
 * frames (footage the model does not draw at, or a --size) is cropped, never stretched. Cropped in RGB, where the
 * size is exact: after a 4:2:0 conversion ffmpeg would round an odd size down without a word. */
export function coverScale(width: number, height: number): string {
  return `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=lanczos,crop=${width}:${height}`;
}

/** Rec. 709 primaries, transfer and matrix, limited range, in the stream and the container's `colr`, so Premiere does not guess. */
const REC709 = ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];
/** RGB → Y'CbCr with the Rec. 709 matrix, and the frames marked so (ProRes and DNxHR take their tags from the frames). */
const REC709_FILTER = ':out_color_matrix=bt709:out_range=tv,setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv';
const prores = (profile: number, pixFmt: string) => ['-c:v', 'prores_ks', '-profile:v', String(profile), '-pix_fmt', pixFmt, '-vendor', 'apl0', ...REC709, '-movflags', '+write_colr', '-f', 'mov'];

function movCodecArgs(codec: MovCodec): string[] {
  switch (codec) {
    case 'prores-422':
      return prores(2, 'yuv422p10le');
    case 'prores-422-hq':
      return prores(3, 'yuv422p10le');
    case 'prores-4444':
      return prores(4, 'yuv444p10le');
    case 'dnxhr-hq':
      return ['-c:v', 'dnxhd', '-profile:v', 'dnxhr_hq', '-pix_fmt', 'yuv422p', ...REC709, '-movflags', '+write_colr', '-f', 'mov'];
  }
}

function codecArgs(format: OutputFormat, codec: MovCodec): string[] {
  switch (format) {
    case 'mp4':
      return ['-c:v', 'libx264', '-preset', 'medium', '-crf', '16', '-pix_fmt', 'yuv420p', ...REC709, '-movflags', '+faststart+write_colr', '-f', 'mp4'];
    case 'mov':
      return movCodecArgs(codec);
    case 'png':
      return ['-c:v', 'png', '-pix_fmt', 'rgb24', '-start_number', '1', '-f', 'image2'];
  }
}

/**
 * Encodes RGB24 frames with ffmpeg, atomically: ffmpeg writes a temp path beside the output, which is fsynced and
 * renamed over the final path only when complete. On any failure the temp output is removed and a good clip
 * already at `outputPath` is untouched. A full disk is a `disk_full` LongshotError naming the folder.
 */
export async function encodeClip(ffmpeg: Ffmpeg, frames: Uint8Array[], options: EncodeOptions): Promise<EncodedClip> {
  const { width, height, outWidth, outHeight, format, outputPath } = options;
  const dir = path.dirname(outputPath);
  const temp = path.join(dir, `.${path.basename(outputPath)}${TEMP_MARK}${randomBytes(4).toString('hex')}`);
  const target = format === 'png' ? path.join(temp, 'frame_%05d.png') : temp;
  const metadata = Object.entries(options.metadata).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  const args = [
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', fpsRational(options.fps), '-i', 'pipe:0',
    '-vf', `${coverScale(outWidth, outHeight)}${format === 'png' ? '' : `,scale=flags=lanczos${REC709_FILTER}`}`, '-frames:v', String(frames.length),
    ...codecArgs(format, options.codec ?? 'prores-422'), ...(format === 'png' ? [] : metadata), '-y', target,
  ];
  try {
    if (format === 'png') await fs.mkdir(temp);
    await ffmpeg.run(args, { input: frames, signal: options.signal });
    if (format === 'png') await fs.writeFile(path.join(temp, 'metadata.json'), JSON.stringify(options.metadata, null, 2));
    if (options.provenance) {
      const packet = xmpPacket(options.provenance, new Date());
      if (format === 'png') await fs.writeFile(path.join(temp, 'metadata.xmp'), packet);
      else await embedXmp(temp, packet);
    }
    const unsignedBecause = await signTemp(temp, options);
    const files = format === 'png' ? (await fs.readdir(temp)).sort().map((f) => path.join(temp, f)) : [temp];
    for (const file of files) await fsyncFile(file);
    const digest = await hashFiles(files);
    if (format === 'png') await fs.rm(outputPath, { recursive: true, force: true });
    await fs.rename(temp, outputPath);
    await fsyncFile(dir);
    return { path: outputPath, sha256: digest.sha256, bytes: digest.bytes, frames: frames.length, unsignedBecause };
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    if ((err instanceof FfmpegError && err.noSpace) || (err as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new LongshotError('disk_full', `no space left on the disk of ${dir} to write the clip; free some space or set another --data-dir`, { cause: err });
    }
    if (err instanceof FfmpegError) throw new LongshotError('internal', `encoding ${path.basename(outputPath)} failed: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Signs the finished temp clip (after its XMP, so the manifest's hash covers that too); returns why not when it is not. */
async function signTemp(temp: string, options: EncodeOptions): Promise<string | null> {
  const { credentials, provenance, format } = options;
  if (!credentials || !provenance) return null;
  // C2PA binds a manifest to one file; a frame folder keeps its metadata.xmp.
  if (format === 'png') return 'a PNG sequence is a folder of frames, and a C2PA manifest signs one file';
  const title = path.basename(options.outputPath);
  if (await signClip(temp, { signer: credentials, provenance, format, title, signal: options.signal })) return null;
  return `clips over ${MAX_SIGNED_BYTES / 1024 ** 3} GiB are not signed (c2pa-wasm holds them in WebAssembly memory)`;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function hashFiles(files: string[]): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const file of files) {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Removes outputs a crashed run left half-written in `dir`; returns their names. */
export async function sweepTempFiles(dir: string): Promise<string[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.includes(TEMP_MARK));
  for (const name of names) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  return names;
}
