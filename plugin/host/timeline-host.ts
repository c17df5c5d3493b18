/**
 * The host adapter the panel's state uses: plans the three jobs from the timeline and places finished clips.
 * Every Premiere call goes through `plugin/host/`; this file composes them and never knows the daemon exists.
 */
import { LongshotError } from '../../shared/errors';
import { clipLandedAt, noTrackError, placeOnTrack, trackName } from './editing';
import { anchorSpan, candidateTracks, planBroll, planExtend, planFill, type JobPlan } from './job-plans';
import type { PremiereApi } from './premiere-api';
import { activeProject, importIntoLongshotBin } from './project';
import { activeSequence, clipSource, readTimeline, selectedVideoClip } from './sequence';
import { findGapAt, ticksToSeconds } from './timeline-math';

/** Where a clip landed. */
export interface Placement {
  sequenceName: string;
  trackIndex: number;
  startTicks: number;
  endTicks: number;
  /** Where it starts in the sequence, in seconds (for display). */
  startSeconds: number;
  /** Name of the project item in the Longshot bin. */
  itemName: string;
}

/** What the panel's state needs from Premiere. */
export interface TimelineHost {
  planBroll(seconds: number): Promise<JobPlan>;
  planExtend(direction: 'tail' | 'head', seconds: number): Promise<JobPlan>;
  planFill(): Promise<JobPlan>;
  /** Imports the file into the Longshot bin and places it as planned, as one undo step. */
  place(plan: JobPlan, filePath: string): Promise<Placement>;
}

/** The adapter over a `premierepro` module (the real one in Premiere, the fake in tests). */
export function createTimelineHost(ppro: PremiereApi): TimelineHost {
  const current = async () => {
    const project = await activeProject(ppro);
    const sequence = await activeSequence(project);
    return { project, sequence, timeline: await readTimeline(ppro, sequence) };
  };

  return {
    async planBroll(seconds) {
      return planBroll((await current()).timeline, seconds);
    },

    async planExtend(direction, seconds) {
      const { sequence, timeline } = await current();
      const { trackIndex, clip } = await selectedVideoClip(sequence);
      return planExtend(timeline, trackIndex, clip, await clipSource(ppro, clip.item), direction, seconds);
    },

    async planFill() {
      const { timeline } = await current();
      const gap = findGapAt(timeline.tracks, timeline.playheadTicks);
      if (!gap) throw new LongshotError('bad_request', 'the playhead is not in a gap between two clips: move it into the empty space between two clips on a track');
      const clips = timeline.tracks[gap.trackIndex]!.clips;
      const before = clips.find((c) => c.endTicks === gap.startTicks)!;
      const after = clips.find((c) => c.startTicks === gap.endTicks)!;
      return planFill(timeline, gap, await clipSource(ppro, before.item), await clipSource(ppro, after.item));
    },

    async place(plan, filePath) {
      const { project, sequence, timeline } = await current();
      const { anchor } = plan;
      if (timeline.sequenceName !== anchor.sequenceName) {
        throw new LongshotError('conflict', `this clip belongs to sequence "${anchor.sequenceName}": open it, then place the clip again`);
      }
      const item = await importIntoLongshotBin(ppro, project, filePath);
      const span = anchorSpan(anchor);
      const tried: number[] = [];
      let refusal: unknown = null;
      for (const trackIndex of candidateTracks(timeline.tracks, anchor)) {
        try {
          placeOnTrack(ppro, project, sequence, item, { startTicks: span.startTicks, trackIndex, trackCount: timeline.tracks.length, undoLabel: plan.undoLabel });
        } catch (err) {
          // A refused edit (a locked track) changed nothing: try the next free track.
          if (!(err instanceof LongshotError) || err.code !== 'conflict') throw err;
          tried.push(trackIndex);
          refusal = err;
          continue;
        }
        // The API cannot tell whether a track is locked; an edit Premiere accepted but did not carry out counts as
        // refused too.
        if (!(await clipLandedAt(ppro, sequence, item, trackIndex, span.startTicks))) {
          tried.push(trackIndex);
          refusal = new LongshotError('conflict', `the clip did not land on ${trackName(trackIndex)}`);
          continue;
        }
        return { sequenceName: anchor.sequenceName, trackIndex, ...span, startSeconds: ticksToSeconds(span.startTicks), itemName: item.name };
      }
      throw noTrackError(tried, refusal);
    },
  };
}
