/** Premiere area: edits through the SequenceEditor, each one undoable transaction. */
import { LongshotError } from '../../shared/errors';
import type { HostProject, HostProjectItem, HostSequence, PremiereApi } from './premiere-api';
import { parseTicks } from './timeline-math';
import { inTransaction } from './transaction';

/**
 * Puts a project item at `startTicks` on video track `trackIndex` without moving anything: an overwrite on an
 * existing track (the span was checked free), or an insert on a new track (Premiere adds a track for an index one
 * past the last; limitShift keeps the other tracks still). Throws `conflict` if Premiere refuses the edit.
 */
export function placeOnTrack(
  ppro: PremiereApi,
  project: HostProject,
  sequence: HostSequence,
  item: HostProjectItem,
  placement: { startTicks: number; trackIndex: number; trackCount: number; undoLabel: string },
): void {
  const editor = ppro.SequenceEditor.getEditor(sequence);
  const time = ppro.TickTime.createWithTicks(String(placement.startTicks));
  inTransaction(project, placement.undoLabel, (actions) => {
    actions.addAction(
      placement.trackIndex < placement.trackCount
        ? editor.createOverwriteItemAction(item, time, placement.trackIndex, 0)
        : editor.createInsertProjectItemAction(item, time, placement.trackIndex, 0, true),
    );
  });
}

/** Whether track `trackIndex` now holds a clip of `item` starting at `startTicks` (Premiere's edit really landed). */
export async function clipLandedAt(ppro: PremiereApi, sequence: HostSequence, item: HostProjectItem, trackIndex: number, startTicks: number): Promise<boolean> {
  if (trackIndex >= (await sequence.getVideoTrackCount())) return false;
  const track = await sequence.getVideoTrack(trackIndex);
  for (const clip of track.getTrackItems(ppro.Constants.TrackItemType.CLIP, false)) {
    if (parseTicks((await clip.getStartTime()).ticks) !== startTicks) continue;
    if ((await clip.getProjectItem()).name === item.name) return true;
  }
  return false;
}

/** Names a track the way Premiere's UI does. */
export function trackName(trackIndex: number): string {
  return `V${trackIndex + 1}`;
}

/** The error for a clip that could be placed on no track. */
export function noTrackError(tried: number[], cause: unknown): LongshotError {
  return new LongshotError('conflict', `Premiere refused the clip on ${tried.map(trackName).join(', ')}: unlock a track or free some room`, { cause });
}
