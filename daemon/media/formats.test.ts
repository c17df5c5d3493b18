import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MovCodec } from '../../shared/media-formats';
import { encodeClip } from './encode';
import { resolveFfmpeg } from './ffmpeg-path';
import type { Ffmpeg } from './run-ffmpeg';
import { TRAINED_ALGORITHMIC_MEDIA, type Provenance } from './xmp';

// Debian's ffprobe and exiftool read the files as Premiere's importer and an editor's tools would.
const FFPROBE = '/usr/bin/ffprobe';
const EXIFTOOL = '/usr/bin/exiftool';
const W = 32;
const H = 18;
let ffmpeg: Ffmpeg;
let dir: string;

const provenance: Provenance = {
  prompt: 'a red circle <bounces> & "rolls"',
  seed: 4294967295,
  model: 'shapesworld-uvit',
  modelVersion: '0.2.0',
  steps: 12,
  guidance: 3,
  sampler: 'dpmpp-2m',
  mode: 'extend',
  sources: ['/footage/a.mov'],
  creatorTool: 'longshot 0.1.0',
};

function gradientFrames(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: W * H * 3 }, (_, j) => (j * 7 + i * 16) % 256));
}

function probeStream(file: string): Record<string, string> {
  const out = execFileSync(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,pix_fmt,color_space,color_primaries,color_transfer,color_range,r_frame_rate,avg_frame_rate,nb_frames', '-of', 'json', file]);
  return JSON.parse(out.toString()).streams[0];
}

beforeAll(async () => {
  ffmpeg = await resolveFfmpeg(null);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-formats-'));
});

describe('editor formats (ffprobe and exiftool on the written files)', () => {
  test.each<['mp4' | MovCodec, string, string, string]>([
    ['mp4', 'h264', 'High', 'yuv420p'],
    ['prores-422', 'prores', 'Standard', 'yuv422p10le'],
    ['prores-422-hq', 'prores', 'HQ', 'yuv422p10le'],
    ['prores-4444', 'prores', '4444', 'yuv444p12le'], // 4444 decodes as 12-bit
    ['dnxhr-hq', 'dnxhd', 'DNXHR HQ', 'yuv422p'],
  ])('%s: %s %s %s, Rec. 709 tagged, 23.976 written as 24000/1001', async (kind, codec, profile, pixFmt) => {
    const format = kind === 'mp4' ? 'mp4' : 'mov';
    const out = path.join(dir, `clip-${kind}.${format}`);
    await encodeClip(ffmpeg, gradientFrames(12), { width: W, height: H, fps: 24000 / 1001, outWidth: 256, outHeight: 144, format, ...(kind === 'mp4' ? {} : { codec: kind }), outputPath: out, metadata: { title: 'x' } });
    expect(probeStream(out)).toMatchObject({
      codec_name: codec, profile, pix_fmt: pixFmt,
      color_space: 'bt709', color_primaries: 'bt709', color_transfer: 'bt709', color_range: 'tv',
      r_frame_rate: '24000/1001', avg_frame_rate: '24000/1001',
    });
  });

  test.each<['mp4' | 'mov']>([['mp4'], ['mov']])('%s carries XMP provenance that exiftool reads, and still decodes', async (format) => {
    const out = path.join(dir, `prov.${format}`);
    await encodeClip(ffmpeg, gradientFrames(12), { width: W, height: H, fps: 24, outWidth: 64, outHeight: 36, format, outputPath: out, metadata: { title: 'x' }, provenance });
    const [tags] = JSON.parse(execFileSync(EXIFTOOL, ['-j', '-G1', '-XMP:all', out]).toString());
    expect(tags).toMatchObject({
      'XMP-dc:Title': provenance.prompt,
      'XMP-iptcExt:DigitalSourceType': TRAINED_ALGORITHMIC_MEDIA,
      'XMP-xmp:CreatorTool': 'longshot 0.1.0',
      'XMP-longshot:Seed': 4294967295,
      'XMP-longshot:Model': 'shapesworld-uvit',
      'XMP-longshot:ModelVersion': '0.2.0',
      'XMP-longshot:Steps': 12,
      'XMP-longshot:Mode': 'extend',
      'XMP-longshot:Sources': '/footage/a.mov',
    });
    expect(probeStream(out).nb_frames).toBe('12');
    execFileSync(ffmpeg.path, ['-v', 'error', '-xerror', '-i', out, '-f', 'null', '-']);
  });
});
