/**
 * Timeline arithmetic, pure: Premiere counts time in ticks (254016000000 per second, divisible by every common
 * frame rate), a sequence's timebase is its ticks per frame. Ticks are kept as JS numbers, exact up to 2^53
 * ticks (about 9.8 hours of timeline).
 */
import { LongshotError } from '../../shared/errors';

/** Premiere's ticks per second. */
export const TICKS_PER_SECOND = 254_016_000_000;

/** A half-open span of sequence time [startTicks, endTicks). */
export interface Span {
  startTicks: number;
  endTicks: number;
}

/** One video track as the planner sees it: its index (0 = V1) and the spans of its clips. */
export interface TrackSpans {
  index: number;
  clips: Span[];
}

/** A gap between two clips on one track. */
export interface Gap extends Span {
  trackIndex: number;
}

/** Parses a TickTime's `ticks` string, refusing what a number cannot hold exactly. */
export function parseTicks(ticks: string): number {
  const value = Number(ticks);
  if (!Number.isSafeInteger(value)) {
    throw new LongshotError('bad_request', `time of ${ticks} ticks is beyond what the panel can place exactly (about 9.8 hours)`);
  }
  return value;
}

/** Frames per second of a timebase given in ticks per frame (Sequence.getTimebase): "10594584000" → 23.976…. */
export function fpsFromTimebase(ticksPerFrame: number): number {
  if (!(ticksPerFrame > 0)) throw new LongshotError('bad_request', `sequence timebase ${ticksPerFrame} is not a positive tick count`);
  return TICKS_PER_SECOND / ticksPerFrame;
}

/** Whole frames nearest to a duration in seconds at a timebase (what the daemon renders: round(seconds × fps)). */
export function framesForSeconds(seconds: number, ticksPerFrame: number): number {
  return Math.round((seconds * TICKS_PER_SECOND) / ticksPerFrame);
}

/** Seconds of a frame count; sent as the request's `seconds` so round(seconds × fps) gives back exactly `frames`. */
export function secondsForFrames(frames: number, ticksPerFrame: number): number {
  return (frames * ticksPerFrame) / TICKS_PER_SECOND;
}

/** Ticks → seconds. */
export function ticksToSeconds(ticks: number): number {
  return ticks / TICKS_PER_SECOND;
}

/** Snaps a time to the frame boundary at or before it, so a clip starts on a frame like Premiere's own edits. */
export function floorToFrame(ticks: number, ticksPerFrame: number): number {
  return Math.floor(ticks / ticksPerFrame) * ticksPerFrame;
}

/** Whether two half-open spans share any time. */
export function overlaps(a: Span, b: Span): boolean {
  return a.startTicks < b.endTicks && b.startTicks < a.endTicks;
}

/** Whether no clip of the track shares time with the span. */
export function isFree(track: TrackSpans, span: Span): boolean {
  return track.clips.every((clip) => !overlaps(clip, span));
}

/** Candidate track indexes for a B-roll clip, best first: every free track from V1 up, then a new track on top. */
export function lowestFreeTracks(tracks: readonly TrackSpans[], span: Span): number[] {
  const free = tracks.filter((t) => isFree(t, span)).map((t) => t.index);
  return [...free, tracks.length];
}

/**
 * Candidate tracks for a clip that belongs next to another (extend, fill): the preferred track if the span is free
 * there, then the free tracks above it, then a new track on top.
 */
export function tracksFromPreferred(tracks: readonly TrackSpans[], preferred: number, span: Span): number[] {
  const free = tracks.filter((t) => t.index >= preferred && isFree(t, span)).map((t) => t.index);
  return [...free, tracks.length];
}

/**
 * The gap under the playhead: on the lowest track where the playhead lies after one clip's end and before the next
 * clip's start with nothing in between. The playhead at a clip's first frame is in that clip, not in a gap.
 */
export function findGapAt(tracks: readonly TrackSpans[], playheadTicks: number): Gap | null {
  for (const track of tracks) {
    if (track.clips.some((c) => c.startTicks <= playheadTicks && playheadTicks < c.endTicks)) continue;
    const before = track.clips.filter((c) => c.endTicks <= playheadTicks).reduce<Span | null>((best, c) => (!best || c.endTicks > best.endTicks ? c : best), null);
    const after = track.clips.filter((c) => c.startTicks > playheadTicks).reduce<Span | null>((best, c) => (!best || c.startTicks < best.startTicks ? c : best), null);
    if (before && after && after.startTicks > before.endTicks) {
      return { trackIndex: track.index, startTicks: before.endTicks, endTicks: after.startTicks };
    }
  }
  return null;
}

/** A span's length in whole frames; a span that does not fall on frame boundaries is refused, naming both ends. */
export function spanFrames(span: Span, ticksPerFrame: number): number {
  const frames = (span.endTicks - span.startTicks) / ticksPerFrame;
  const whole = Math.round(frames);
  // A few ticks of slack: clips conformed from another rate can sit a hair off the frame grid.
  if (Math.abs(frames - whole) > 1e-3 || whole < 1) {
    throw new LongshotError(
      'bad_request',
      `the gap from ${ticksToSeconds(span.startTicks).toFixed(3)} s to ${ticksToSeconds(span.endTicks).toFixed(3)} s is not a whole number of frames at this sequence's rate: snap the clips to frames`,
    );
  }
  return whole;
}
