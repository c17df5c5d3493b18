/**
 * The three jobs as pure plans: from a timeline read and the user's choices to the daemon request's timing and
 * references, and where the clip will go. Plans are plain JSON so the panel can keep them across reloads.
 */
import { LongshotError } from '../../shared/errors';
import type { Mode, Reference } from '../../shared/protocol';
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

/** What a job asks the daemon for and where its clip goes. */
export interface JobPlan {
  mode: Mode;
  /** Exactly `anchor.frames` frames at `fps`. */
  seconds: number;
  fps: number;
  references: Reference[];
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

const media = (role: Reference['role'], path: string, timeSeconds: number): Reference => ({ role, source: { kind: 'media', path, timeSeconds } });

/** B-roll at the playhead (snapped to its frame). */
export function planBroll(timeline: Timeline, seconds: number): JobPlan {
  const frames = frameCount(seconds, timeline.ticksPerFrame);
  return {
    mode: 'broll',
    seconds: secondsForFrames(frames, timeline.ticksPerFrame),
    fps: timeline.fps,
    references: [],
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
    mode: direction === 'tail' ? 'extend' : 'extend-head',
    seconds: secondsForFrames(frames, tpf),
    fps: timeline.fps,
    references: [direction === 'tail' ? media('before', source.mediaPath, source.outSeconds) : media('after', source.mediaPath, source.inSeconds)],
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
    mode: 'fill',
    seconds,
    fps: timeline.fps,
    references: [media('before', before.mediaPath, before.outSeconds), media('after', after.mediaPath, after.inSeconds)],
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
