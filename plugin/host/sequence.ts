/** Premiere area: the active sequence, its tracks, playhead and selection, read into plain numbers. */
import { LongshotError } from '../../shared/errors';
import type { HostProject, HostSequence, HostTrackItem, HostVideoTrackItem, PremiereApi } from './premiere-api';
import { fpsFromTimebase, parseTicks, type Span } from './timeline-math';

/** A clip on a video track, with its span in sequence ticks. */
export interface TimelineClip extends Span {
  item: HostTrackItem;
}

/** A sequence read at one moment. */
export interface Timeline {
  sequenceName: string;
  ticksPerFrame: number;
  fps: number;
  playheadTicks: number;
  /** Video tracks bottom-up: index 0 is V1. */
  tracks: { index: number; clips: TimelineClip[] }[];
}

/** Where a clip's frames come from: its media file and the source times of its in and out points. */
export interface ClipSource {
  mediaPath: string;
  inSeconds: number;
  outSeconds: number;
}

/** The active sequence, or a message saying to open one. */
export async function activeSequence(project: HostProject): Promise<HostSequence> {
  const sequence = await project.getActiveSequence();
  if (!sequence) throw new LongshotError('not_found', 'no sequence is open: open a sequence in the Timeline panel');
  return sequence;
}

/** Reads timebase, playhead and every video clip's span. */
export async function readTimeline(ppro: PremiereApi, sequence: HostSequence): Promise<Timeline> {
  const ticksPerFrame = parseTicks(await sequence.getTimebase());
  const playheadTicks = parseTicks((await sequence.getPlayerPosition()).ticks);
  const count = await sequence.getVideoTrackCount();
  const tracks: Timeline['tracks'] = [];
  for (let index = 0; index < count; index++) {
    const track = await sequence.getVideoTrack(index);
    const clips: TimelineClip[] = [];
    for (const item of track.getTrackItems(ppro.Constants.TrackItemType.CLIP, false)) {
      clips.push({ item, startTicks: parseTicks((await item.getStartTime()).ticks), endTicks: parseTicks((await item.getEndTime()).ticks) });
    }
    tracks.push({ index, clips: clips.sort((a, b) => a.startTicks - b.startTicks) });
  }
  return { sequenceName: sequence.name, ticksPerFrame, fps: fpsFromTimebase(ticksPerFrame), playheadTicks, tracks };
}

function isVideoItem(item: HostTrackItem): item is HostVideoTrackItem {
  return 'createAddVideoTransitionAction' in item;
}

/** The one selected video clip (its linked audio may be selected too), or a message saying what to select. */
export async function selectedVideoClip(sequence: HostSequence): Promise<{ trackIndex: number; clip: TimelineClip }> {
  const items = (await (await sequence.getSelection()).getTrackItems()).filter(isVideoItem);
  if (items.length === 0) throw new LongshotError('bad_request', 'no clip is selected: select one video clip in the timeline');
  if (items.length > 1) throw new LongshotError('bad_request', `${items.length} video clips are selected: select just the one to extend`);
  const item = items[0]!;
  return {
    trackIndex: await item.getTrackIndex(),
    clip: { item, startTicks: parseTicks((await item.getStartTime()).ticks), endTicks: parseTicks((await item.getEndTime()).ticks) },
  };
}

/** The media file and source in/out times behind a clip on the timeline. */
export async function clipSource(ppro: PremiereApi, item: HostTrackItem): Promise<ClipSource> {
  const projectItem = ppro.ClipProjectItem.cast(await item.getProjectItem());
  const mediaPath = await projectItem.getMediaFilePath();
  if (!mediaPath) throw new LongshotError('media_unreadable', `clip "${projectItem.name}" has no media file (a title or sequence?): use a clip from a file`);
  return { mediaPath, inSeconds: (await item.getInPoint()).seconds, outSeconds: (await item.getOutPoint()).seconds };
}
