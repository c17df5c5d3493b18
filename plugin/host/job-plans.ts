/**
 * The three jobs as pure plans, in the timeline's terms: from a timeline read and the user's choices to the clip's
 * frame-exact length, the footage frames on either side of it, and where it will go. What the daemon is asked is
 * built from a plan in state/ (job-request.ts): host/ does not know the daemon. Plans are plain JSON so the panel
 * can keep them across reloads.
 */
import { LongshotError } from '../../shared/errors';
import { MAX_SECONDS } from '../../shared/protocol-constants';
import type { ClipSource, Timeline } from './sequence';
import {
  floorToFrame,
  framesForSeconds,
  lowestFreeTracks,
  secondsForFrames,
  spanFrames,
  ticksToSeconds,
  tracksFromPreferred,
  type Gap,
  type Span,
  type TrackSpans,
} from './timeline-math';

/** Where a generated clip belongs: a start on a sequence and a frame-exact length; the track is chosen at placing. */
export interface Anchor {
  sequenceName: string;
  startTicks: number;
  frames: number;
  ticksPerFrame: number;
  /** The track to try first (extend, fill); null: the lowest free track (B-roll). */
  preferredTrack: number | null;
}

/** One frame of footage on the timeline: the media file it shows and the time in that file, in seconds. */
export interface FootageFrame {
  path: string;
  timeSeconds: number;
}

/** A job on the timeline: the clip's length, the footage it joins, and where it goes. */
export interface JobPlan {
  /** Exactly `anchor.frames` frames at `fps`. */
  seconds: number;
  fps: number;
  /** The last frame of the footage the clip continues (an extend's clip at its out point, a fill's left side). */
  before: FootageFrame | null;
  /** The first frame of the footage the clip leads into (a head extend's clip at its in point, a fill's right side). */
  after: FootageFrame | null;
  anchor: Anchor;
  undoLabel: string;
}

function checkSeconds(seconds: number): void {
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new LongshotError('bad_request', `duration must be more than 0 and at most ${MAX_SECONDS} seconds, got ${seconds}`, { field: 'seconds' });
  }
}

function frameCount(seconds: number, ticksPerFrame: number): number {
  checkSeconds(seconds);
  return Math.max(1, framesForSeconds(seconds, ticksPerFrame));
}

/** B-roll at the playhead (snapped to its frame). */
export function planBroll(timeline: Timeline, seconds: number): JobPlan {
  const frames = frameCount(seconds, timeline.ticksPerFrame);
  return {
    seconds: secondsForFrames(frames, timeline.ticksPerFrame),
    fps: timeline.fps,
    before: null,
    after: null,
    anchor: { sequenceName: timeline.sequenceName, startTicks: floorToFrame(timeline.playheadTicks, timeline.ticksPerFrame), frames, ticksPerFrame: timeline.ticksPerFrame, preferredTrack: null },
    undoLabel: 'Longshot: B-roll',
  };
}

/** Continue a clip past its out point (`tail`) or lead into its in point (`head`). */
export function planExtend(timeline: Timeline, trackIndex: number, clip: Span, source: ClipSource, direction: 'tail' | 'head', seconds: number): JobPlan {
  const tpf = timeline.ticksPerFrame;
  const frames = frameCount(seconds, tpf);
  const startTicks = direction === 'tail' ? clip.endTicks : clip.startTicks - frames * tpf;
  if (startTicks < 0) {
    throw new LongshotError('bad_request', `the clip starts ${ticksToSeconds(clip.startTicks).toFixed(2)} s into the sequence: extend its head by at most that much`, { field: 'seconds' });
  }
  return {
    seconds: secondsForFrames(frames, tpf),
    fps: timeline.fps,
    before: direction === 'tail' ? { path: source.mediaPath, timeSeconds: source.outSeconds } : null,
    after: direction === 'head' ? { path: source.mediaPath, timeSeconds: source.inSeconds } : null,
    anchor: { sequenceName: timeline.sequenceName, startTicks, frames, ticksPerFrame: tpf, preferredTrack: trackIndex },
    undoLabel: direction === 'tail' ? 'Longshot: extend clip' : 'Longshot: extend clip head',
  };
}

/** Fill a gap exactly, with the frames on both sides as references. */
export function planFill(timeline: Timeline, gap: Gap, before: ClipSource, after: ClipSource): JobPlan {
  const frames = spanFrames(gap, timeline.ticksPerFrame);
  const seconds = secondsForFrames(frames, timeline.ticksPerFrame);
  if (seconds > MAX_SECONDS) {
    throw new LongshotError('bad_request', `the gap is ${seconds.toFixed(2)} s long; Longshot fills gaps of at most ${MAX_SECONDS} s`);
  }
  return {
    seconds,
    fps: timeline.fps,
    before: { path: before.mediaPath, timeSeconds: before.outSeconds },
    after: { path: after.mediaPath, timeSeconds: after.inSeconds },
    anchor: { sequenceName: timeline.sequenceName, startTicks: gap.startTicks, frames, ticksPerFrame: timeline.ticksPerFrame, preferredTrack: gap.trackIndex },
    undoLabel: 'Longshot: fill gap',
  };
}

/** The anchor's span in sequence ticks. */
export function anchorSpan(anchor: Anchor): Span {
  return { startTicks: anchor.startTicks, endTicks: anchor.startTicks + anchor.frames * anchor.ticksPerFrame };
}

/** Tracks to try, best first, on the timeline as it is when the clip arrives (the last one is a new track). */
export function candidateTracks(tracks: readonly TrackSpans[], anchor: Anchor): number[] {
  const span = anchorSpan(anchor);
  return anchor.preferredTrack === null ? lowestFreeTracks(tracks, span) : tracksFromPreferred(tracks, anchor.preferredTrack, span);
}
