/** The host adapter and the three jobs' planning and placing, against the fake Premiere with real MP4 files. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeAudioTrackItem, FakeClipItem, createFakePremiere, mp4DurationTicks, type FakeSequence } from './fake-premiere';
import { LONGSHOT_BIN } from './project';
import { createTimelineHost } from './timeline-host';
import { TICKS_PER_SECOND } from './timeline-math';

const ffmpeg: string = require('@ffmpeg-installer/ffmpeg').path;

const RATES = { '23.976': { tpf: 10_594_584_000, ff: '24000/1001' }, '25': { tpf: 10_160_640_000, ff: '25' }, '29.97': { tpf: 8_475_667_200, ff: '30000/1001' } };
type Rate = keyof typeof RATES;

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-host-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A real MP4 of exactly `frames` frames at `rate`, made by ffmpeg. */
function makeClip(name: string, frames: number, rate: Rate): string {
  const file = path.join(dir, name);
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=64x36:rate=${RATES[rate].ff}`, '-frames:v', String(frames), '-pix_fmt', 'yuv420p', file]);
  return file;
}

function setup(rate: Rate, trackCount = 3) {
  const ppro = createFakePremiere(async (p) => mp4DurationTicks(fs.readFileSync(p)));
  const sequence = ppro.project.addSequence(`Edit ${rate}`, RATES[rate].tpf, trackCount);
  const footage = (name: string, frames: number) => new FakeClipItem(name, makeClip(name, frames, rate), frames * RATES[rate].tpf);
  return { ppro, sequence, host: createTimelineHost(ppro), footage };
}

const at = (seq: FakeSequence, frame: number) => (seq.playheadTicks = frame * seq.ticksPerFrame);

describe('B-roll', () => {
  it('lands at the playhead on the lowest track free for its whole duration, moving nothing, one undo step', async () => {
    const { ppro, sequence, host, footage } = setup('25');
    const a = footage('a.mp4', 200);
    sequence.addClip(0, a, 0, 200);
    sequence.addClip(1, a, 120, 20);
    at(sequence, 100);
    const plan = await host.planBroll(4);
    expect(plan).toMatchObject({ fps: 25, seconds: 4, before: null, after: null, anchor: { startTicks: 100 * sequence.ticksPerFrame, frames: 100, preferredTrack: null } });

    const before = sequence.layout();
    const placed = await host.place(plan, makeClip('broll.mp4', 100, '25'));
    // V2 is taken from frame 120: the 100-frame clip needs V3.
    expect(placed).toMatchObject({ trackIndex: 2, startTicks: 100 * sequence.ticksPerFrame, endTicks: 200 * sequence.ticksPerFrame, itemName: 'broll.mp4' });
    expect(sequence.layout()).toEqual([...before, [2, 100, 200, 'broll.mp4']]);
    const bin = ppro.project.root.items.find((i) => i.name === LONGSHOT_BIN);
    expect(bin && 'items' in bin && bin.items.map((i) => i.name)).toEqual(['broll.mp4']);

    expect(ppro.project.undo()).toBe('Longshot: B-roll');
    expect(sequence.layout()).toEqual(before);
  });

  it('adds a track when every track is taken, and skips a locked one', async () => {
    const { sequence, host, footage } = setup('25', 2);
    const a = footage('a.mp4', 300);
    sequence.addClip(0, a, 0, 300);
    at(sequence, 10);
    const first = await host.place(await host.planBroll(2), makeClip('b1.mp4', 50, '25'));
    expect(first.trackIndex).toBe(1);
    at(sequence, 100);
    const second = await host.place(await host.planBroll(2), makeClip('b2.mp4', 50, '25'));
    expect(second.trackIndex).toBe(1);
    sequence.tracks[1]!.locked = true;
    at(sequence, 200);
    const third = await host.place(await host.planBroll(2), makeClip('b3.mp4', 50, '25'));
    expect(third.trackIndex).toBe(2);
    expect(sequence.tracks).toHaveLength(3);
    expect(sequence.layout()).toContainEqual([0, 0, 300, 'a.mp4']);
  });

  it('says so when no sequence or no project is open', async () => {
    const { ppro, host } = setup('25');
    ppro.project.activeSequence = null;
    await expect(host.planBroll(4)).rejects.toThrow(/no sequence is open/);
    (ppro as { project: unknown }).project = null;
    await expect(host.planBroll(4)).rejects.toThrow(/no project is open/);
  });

  it('refuses a duration over 60 s and a sequence switched while generating', async () => {
    const { ppro, host } = setup('25');
    await expect(host.planBroll(61)).rejects.toThrow(/at most 60 seconds/);
    const plan = await host.planBroll(1);
    ppro.project.addSequence('Other', RATES['25'].tpf);
    await expect(host.place(plan, makeClip('x.mp4', 25, '25'))).rejects.toThrow(/belongs to sequence "Edit 25"/);
  });
});

describe('extend', () => {
  it('continues the selected clip from its out point on the same track when free', async () => {
    const { sequence, host, footage } = setup('23.976');
    const src = footage('src.mp4', 120);
    const clip = sequence.addClip(0, src, 48, 60, 12);
    sequence.selection = [clip, new FakeAudioTrackItem(clip)];
    const plan = await host.planExtend('tail', 2);
    const tpf = RATES['23.976'].tpf;
    expect(plan.anchor).toMatchObject({ startTicks: 108 * tpf, frames: 48, preferredTrack: 0 });
    expect([plan.before, plan.after]).toEqual([{ path: src.mediaPath, timeSeconds: (72 * tpf) / TICKS_PER_SECOND }, null]);
    expect(Math.round(plan.seconds * plan.fps)).toBe(48);
    const placed = await host.place(plan, makeClip('ext.mp4', 48, '23.976'));
    expect(placed).toMatchObject({ trackIndex: 0, startTicks: 108 * tpf, endTicks: 156 * tpf });
  });

  it('goes to the track above when the span after the clip is taken', async () => {
    const { sequence, host, footage } = setup('23.976');
    const src = footage('src.mp4', 120);
    const clip = sequence.addClip(0, src, 0, 60);
    sequence.addClip(0, src, 70, 20);
    sequence.selection = [clip];
    const placed = await host.place(await host.planExtend('tail', 1), makeClip('ext.mp4', 24, '23.976'));
    expect(placed.trackIndex).toBe(1);
    expect(sequence.layout()).toEqual([[0, 0, 60, 'src.mp4'], [0, 70, 90, 'src.mp4'], [1, 60, 84, 'ext.mp4']]);
  });

  it('leads into the clip from its in point, and refuses more head than the sequence has', async () => {
    const { sequence, host, footage } = setup('29.97');
    const src = footage('src.mp4', 300);
    const clip = sequence.addClip(1, src, 90, 30, 5);
    sequence.selection = [clip];
    const plan = await host.planExtend('head', 1);
    expect([plan.before, plan.after]).toEqual([null, { path: src.mediaPath, timeSeconds: (5 * RATES['29.97'].tpf) / TICKS_PER_SECOND }]);
    const placed = await host.place(plan, makeClip('head.mp4', 30, '29.97'));
    expect(placed).toMatchObject({ trackIndex: 1, startTicks: 60 * sequence.ticksPerFrame, endTicks: 90 * sequence.ticksPerFrame });
    await expect(host.planExtend('head', 4)).rejects.toThrow(/extend its head by at most/);
  });

  it('needs exactly one selected video clip', async () => {
    const { sequence, host, footage } = setup('25');
    const src = footage('src.mp4', 100);
    await expect(host.planExtend('tail', 2)).rejects.toThrow(/no clip is selected/);
    sequence.selection = [sequence.addClip(0, src, 0, 10), sequence.addClip(0, src, 20, 10)];
    await expect(host.planExtend('tail', 2)).rejects.toThrow(/2 video clips are selected/);
  });
});

describe('fill gap', () => {
  it.each([['23.976'], ['25'], ['29.97']] as [Rate][])('fills the gap under the playhead with exactly its frames at %s fps', async (rate) => {
    const { ppro, sequence, host, footage } = setup(rate);
    const left = footage('left.mp4', 100);
    const right = footage('right.mp4', 100);
    sequence.addClip(0, left, 0, 40, 10);
    sequence.addClip(0, right, 77, 30, 3);
    at(sequence, 50);
    const plan = await host.planFill();
    const tpf = RATES[rate].tpf;
    expect(plan.anchor).toMatchObject({ startTicks: 40 * tpf, frames: 37, preferredTrack: 0 });
    expect(Math.round(plan.seconds * plan.fps)).toBe(37);
    expect([plan.before, plan.after]).toEqual([
      { path: left.mediaPath, timeSeconds: (50 * tpf) / TICKS_PER_SECOND },
      { path: right.mediaPath, timeSeconds: (3 * tpf) / TICKS_PER_SECOND },
    ]);
    const placed = await host.place(plan, makeClip(`gap-${rate}.mp4`, 37, rate));
    expect(placed).toMatchObject({ trackIndex: 0, startTicks: 40 * tpf, endTicks: 77 * tpf });
    expect(sequence.layout()).toEqual([[0, 0, 40, 'left.mp4'], [0, 77, 107, 'right.mp4'], [0, 40, 77, `gap-${rate}.mp4`]]);
    expect(ppro.project.undo()).toBe('Longshot: fill gap');
  });

  it('says so when the playhead is not in a gap', async () => {
    const { sequence, host, footage } = setup('25');
    sequence.addClip(0, footage('a.mp4', 50), 0, 50);
    at(sequence, 10);
    await expect(host.planFill()).rejects.toThrow(/playhead is not in a gap/);
    at(sequence, 60);
    await expect(host.planFill()).rejects.toThrow(/playhead is not in a gap/);
  });

  it('places on the track above when the gap track got locked meanwhile', async () => {
    const { sequence, host, footage } = setup('25');
    const a = footage('a.mp4', 100);
    sequence.addClip(0, a, 0, 20);
    sequence.addClip(0, a, 30, 20);
    at(sequence, 25);
    const plan = await host.planFill();
    sequence.tracks[0]!.locked = true;
    const placed = await host.place(plan, makeClip('g.mp4', 10, '25'));
    expect(placed.trackIndex).toBe(1);
  });

  it('moves on when Premiere accepts the edit on a track but the clip does not land there', async () => {
    const { sequence, host, footage } = setup('25');
    const a = footage('a.mp4', 100);
    sequence.addClip(0, a, 0, 20);
    sequence.addClip(0, a, 30, 20);
    sequence.playheadTicks = 25 * sequence.ticksPerFrame;
    sequence.tracks[0]!.ignoresEdits = true;
    const placed = await host.place(await host.planFill(), makeClip('g2.mp4', 10, '25'));
    expect(placed.trackIndex).toBe(1);
    expect(sequence.layout()).toEqual([[0, 0, 20, 'a.mp4'], [0, 30, 50, 'a.mp4'], [1, 20, 30, 'g2.mp4']]);
  });
});
