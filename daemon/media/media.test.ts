import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';
import { decodeImages, readFramesAt } from './decode';
import { defaultOutputSize, encodeClip, sweepTempFiles } from './encode';
import { resolveFfmpeg } from './ffmpeg-path';
import { exactRate, fpsRational, probeMedia } from './probe';
import { FfmpegChildren, FfmpegError, type Ffmpeg } from './run-ffmpeg';

const W = 32;
const H = 18;
let ffmpeg: Ffmpeg;
let dir: string;

/** Frame i is a flat grey of level 8·i, so its index can be read back after lossy coding. */
function indexedFrames(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(W * H * 3).fill(8 * i));
}
/** lavfi's colour source passes through YUV, so colours come back within a few levels. */
function expectColour(frame: Uint8Array, rgb: number[], tolerance = 3): void {
  Array.from(frame.subarray(0, 3)).forEach((v, i) => expect(Math.abs(v - rgb[i]!)).toBeLessThanOrEqual(tolerance));
}
const indexOf = (frame: Uint8Array) => Math.round(frame.reduce((a, b) => a + b, 0) / frame.length / 8);

async function frameCount(file: string): Promise<number> {
  const { stderr } = await ffmpeg.run(['-i', file, '-map', '0:v:0', '-f', 'null', '-']);
  return Number([...stderr.matchAll(/frame=\s*(\d+)/g)].pop()![1]);
}

beforeAll(async () => {
  ffmpeg = await resolveFfmpeg(null);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-media-'));
});

describe('encodeClip', () => {
  test.each([
    [24000 / 1001, '24000/1001', 48],
    [25, '25/1', 50],
    [29.97, '30000/1001', 105],
    [60, '60/1', 120],
  ])('%p fps (%s) writes exactly %p frames with the right duration', async (fps, rational, count) => {
    expect(fpsRational(fps)).toBe(rational);
    const out = path.join(dir, `exact-${count}.mp4`);
    const clip = await encodeClip(ffmpeg, indexedFrames(count), { width: W, height: H, fps, outWidth: 64, outHeight: 36, format: 'mp4', outputPath: out, metadata: { title: 'a red circle' } });
    expect(clip.frames).toBe(count);
    expect(await frameCount(out)).toBe(count);
    const info = await probeMedia(ffmpeg, out, 'clip');
    expect(info.durationSeconds).toBeCloseTo(count / exactRate(fps), 2);
    expect(info.fps).toBeCloseTo(exactRate(fps), 3);
    expect([info.width, info.height]).toEqual([64, 36]);
  });

  test('writes metadata and a sha256 of the final file', async () => {
    const out = path.join(dir, 'meta.mp4');
    const clip = await encodeClip(ffmpeg, indexedFrames(6), { width: W, height: H, fps: 24, outWidth: 64, outHeight: 36, format: 'mp4', outputPath: out, metadata: { title: 'a blue square falls', comment: '{"seed":7}' } });
    const { stderr } = await ffmpeg.run(['-i', out, '-f', 'null', '-']);
    expect(stderr).toMatch(/title\s*: a blue square falls/);
    expect(stderr).toMatch(/comment\s*: \{"seed":7\}/);
    expect(clip.sha256).toBe(require('node:crypto').createHash('sha256').update(fs.readFileSync(out)).digest('hex'));
  });

  test('ProRes MOV and PNG sequences round-trip', async () => {
    const mov = await encodeClip(ffmpeg, indexedFrames(5), { width: W, height: H, fps: 25, outWidth: W, outHeight: H, format: 'mov', outputPath: path.join(dir, 'c.mov'), metadata: {} });
    expect((await probeMedia(ffmpeg, mov.path, 'clip')).codec).toBe('prores');
    const png = await encodeClip(ffmpeg, indexedFrames(5), { width: W, height: H, fps: 25, outWidth: W, outHeight: H, format: 'png', outputPath: path.join(dir, 'seq'), metadata: { title: 't' } });
    expect(fs.readdirSync(png.path).sort()).toEqual(['frame_00001.png', 'frame_00002.png', 'frame_00003.png', 'frame_00004.png', 'frame_00005.png', 'metadata.json']);
    const back = await Promise.all([1, 2, 3, 4, 5].map((n) => readFramesAt(ffmpeg, path.join(png.path, `frame_0000${n}.png`), { timeSeconds: 0, count: 1, side: 'after', width: W, height: H, field: 'f' })));
    expect(back.map((frames) => indexOf(frames[0]!))).toEqual([0, 1, 2, 3, 4]);
  });

  test('a failed encode leaves the earlier clip untouched and no temp file', async () => {
    const out = path.join(dir, 'keep.mp4');
    await encodeClip(ffmpeg, indexedFrames(4), { width: W, height: H, fps: 24, outWidth: 64, outHeight: 36, format: 'mp4', outputPath: out, metadata: {} });
    const before = fs.readFileSync(out);
    const controller = new AbortController();
    const frames = indexedFrames(400).map((f) => new Uint8Array(1920 * 1080 * 3).fill(f[0]!));
    setTimeout(() => controller.abort(), 300);
    await expect(encodeClip(ffmpeg, frames, { width: 1920, height: 1080, fps: 24, outWidth: 1920, outHeight: 1080, format: 'mp4', outputPath: out, metadata: {}, signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.readFileSync(out).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes('longshot-tmp'))).toEqual([]);
    // An odd size is refused by libx264: the encode fails cleanly too.
    await expect(encodeClip(ffmpeg, indexedFrames(2), { width: W, height: H, fps: 24, outWidth: 63, outHeight: 35, format: 'mp4', outputPath: out, metadata: {} })).rejects.toBeInstanceOf(LongshotError);
    expect(fs.readFileSync(out).equals(before)).toBe(true);
  });

  test('sweepTempFiles removes what a crash left', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'sweep-'));
    fs.writeFileSync(path.join(sub, '.x.mp4.longshot-tmp-abcd'), 'half');
    fs.writeFileSync(path.join(sub, 'good.mp4'), 'whole');
    expect(await sweepTempFiles(sub)).toEqual(['.x.mp4.longshot-tmp-abcd']);
    expect(fs.readdirSync(sub)).toEqual(['good.mp4']);
  });

  test('default output size is a whole multiple at least 256 px tall', () => {
    expect(defaultOutputSize(128, 72)).toEqual({ width: 512, height: 288 });
    expect(defaultOutputSize(112, 64)).toEqual({ width: 448, height: 256 });
  });
});

describe('readFramesAt', () => {
  let clip: string;
  beforeAll(async () => {
    clip = path.join(dir, 'indexed.mp4');
    await encodeClip(ffmpeg, indexedFrames(30), { width: W, height: H, fps: 30000 / 1001, outWidth: W, outHeight: H, format: 'mp4', outputPath: clip, metadata: {} });
  });

  test('before: the frames ending at the frame shown at T, oldest first', async () => {
    const fps = 30000 / 1001;
    const frames = await readFramesAt(ffmpeg, clip, { timeSeconds: 20 / fps, count: 4, side: 'before', width: W, height: H, field: 'ref' });
    expect(frames.map(indexOf)).toEqual([17, 18, 19, 20]);
    const mid = await readFramesAt(ffmpeg, clip, { timeSeconds: 20.5 / fps, count: 2, side: 'before', width: W, height: H, field: 'ref' });
    expect(mid.map(indexOf)).toEqual([19, 20]);
  });

  test('after: the frames starting at T', async () => {
    const fps = 30000 / 1001;
    const frames = await readFramesAt(ffmpeg, clip, { timeSeconds: 10 / fps, count: 3, side: 'after', width: W, height: H, field: 'ref' });
    expect(frames.map(indexOf)).toEqual([10, 11, 12]);
    expect((await readFramesAt(ffmpeg, clip, { timeSeconds: 0, count: 2, side: 'before', width: W, height: H, field: 'ref' })).map(indexOf)).toEqual([0]);
  });

  test('a still image gives its one frame, resized to cover', async () => {
    const png = path.join(dir, 'still.png');
    execFileSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=0x102030:s=100x100', '-frames:v', '1', '-y', png]);
    const frames = await readFramesAt(ffmpeg, png, { timeSeconds: 0, count: 4, side: 'before', width: W, height: H, field: 'ref' });
    expect(frames).toHaveLength(1);
    expectColour(frames[0]!, [16, 32, 48]);
  });

  test('an animated GIF is footage: its frames before T, at its own rate', async () => {
    const gif = path.join(dir, 'steps.gif');
    // Eight frames at 10 fps, frame i a flat grey of luma 32·i, which reads back
    // as RGB 36·i (video range widened to full; GIF's fixed palette keeps these greys exact).
    execFileSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=black:s=${W}x${H}:r=10:d=0.8`,
      '-vf', 'geq=lum=32*N:cb=128:cr=128', '-y', gif]);
    const frames = await readFramesAt(ffmpeg, gif, { timeSeconds: 0.5, count: 3, side: 'before', width: W, height: H, field: 'ref' });
    expect(frames.map((frame) => Math.round(frame[0]! / 36))).toEqual([3, 4, 5]);
  });

  test('missing, unreadable and too-short media name the field', async () => {
    await expect(readFramesAt(ffmpeg, path.join(dir, 'nope.mp4'), { timeSeconds: 0, count: 1, side: 'after', width: W, height: H, field: 'request.references[0].source.path' })).rejects.toThrow(/^request\.references\[0\]\.source\.path: no readable video or image at/);
    const junk = path.join(dir, 'junk.mp4');
    fs.writeFileSync(junk, 'this is not a video');
    await expect(readFramesAt(ffmpeg, junk, { timeSeconds: 0, count: 1, side: 'after', width: W, height: H, field: 'src' })).rejects.toMatchObject({ code: 'media_unreadable', field: 'src' });
    await expect(readFramesAt(ffmpeg, clip, { timeSeconds: 99, count: 1, side: 'before', width: W, height: H, field: 'src' })).rejects.toThrow(/past the end/);
  });
});

describe('decodeImages', () => {
  test('PNG and JPEG decode; a bad image is named by index', async () => {
    const png = path.join(dir, 'i.png');
    const jpg = path.join(dir, 'i.jpg');
    execFileSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=0xC82828:s=64x36', '-frames:v', '1', '-y', png]);
    execFileSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=0x2828C8:s=64x36', '-frames:v', '1', '-y', jpg]);
    const frames = await decodeImages(ffmpeg, [fs.readFileSync(png).toString('base64'), fs.readFileSync(jpg).toString('base64')], W, H, 'images');
    expectColour(frames[0]!, [200, 40, 40]);
    expectColour(frames[1]!, [40, 40, 200], 8);
    await expect(decodeImages(ffmpeg, [Buffer.from('not an image at all').toString('base64')], W, H, 'images')).rejects.toThrow(/^images\[0\]: not a readable PNG or JPEG/);
  });
});

describe('resolveFfmpeg', () => {
  test('an explicit path that does not run is an error naming the setting', async () => {
    await expect(resolveFfmpeg('/no/such/ffmpeg')).rejects.toThrow(/LONGSHOT_FFMPEG/);
  });

  test('an Ffmpeg tracks its runs in the registry it was made with, and only there', async () => {
    const pidDir = path.join(dir, 'run');
    const children = new FfmpegChildren(pidDir);
    const tracked = await resolveFfmpeg(null, children);
    // Read at the input's own rate (-re): ten minutes, however fast the machine, so neither ends before it is stopped.
    const endless = ['-re', '-f', 'lavfi', '-i', 'testsrc=size=32x18:rate=25', '-t', '600', '-f', 'null', '-'];
    const stopOther = new AbortController();
    const other = ffmpeg.run(endless, { signal: stopOther.signal });
    const running = tracked.run(endless);
    expect(fs.readdirSync(pidDir)).toHaveLength(1);
    children.killAll();
    await expect(running).rejects.toBeInstanceOf(FfmpegError);
    expect(fs.readdirSync(pidDir)).toEqual([]);
    stopOther.abort();
    await expect(other).rejects.toMatchObject({ code: 'cancelled' });
  });
});
