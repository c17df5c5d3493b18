/**
 * The slice of Premiere's UXP API the panel uses, as narrow interfaces. The host adapter is written against these,
 * the fake in fake-premiere.ts implements them, and the assertions at the end make the compiler check that the
 * real `@adobe/premierepro` types still satisfy them: if Adobe changes a signature we rely on, type-checking fails.
 */
import type * as Ppro from '@adobe/premierepro';

/** An opaque edit made by a `create…Action` call, committed inside a transaction. */
export type HostAction = Ppro.Action;

/** A point in time (TickTime). */
export interface HostTime {
  readonly ticks: string;
  readonly seconds: number;
}

export interface HostCompoundAction {
  addAction(action: HostAction): boolean;
}

export interface HostProjectItem {
  readonly name: string;
  readonly type: number;
}

export interface HostFolderItem extends HostProjectItem {
  getItems(): Promise<HostProjectItem[]>;
  createBinAction(name: string, makeUnique: boolean): HostAction;
}

export interface HostClipProjectItem extends HostProjectItem {
  getMediaFilePath(): Promise<string>;
}

/** A clip on a track; selections may also hold audio clips, which lack the video-only members. */
export interface HostTrackItem {
  getStartTime(): Promise<HostTime>;
  getEndTime(): Promise<HostTime>;
  /** Source in point, relative to the start of the clip's media. */
  getInPoint(): Promise<HostTime>;
  getOutPoint(): Promise<HostTime>;
  getTrackIndex(): Promise<number>;
  getProjectItem(): Promise<HostProjectItem>;
}

export interface HostVideoTrackItem extends HostTrackItem {
  /** Present on video clips only; the adapter uses it to tell video from audio in a selection. */
  createAddVideoTransitionAction(...args: never[]): HostAction;
}

export interface HostVideoTrack {
  readonly name: string;
  getIndex(): Promise<number>;
  getTrackItems(trackItemType: number, includeEmptyTrackItems: boolean): HostVideoTrackItem[];
}

export interface HostSelection {
  getTrackItems(): Promise<HostTrackItem[]>;
}

export interface HostSequence {
  readonly name: string;
  getPlayerPosition(): Promise<HostTime>;
  getTimebase(): Promise<string>;
  getVideoTrackCount(): Promise<number>;
  getVideoTrack(trackIndex: number): Promise<HostVideoTrack>;
  getSelection(): Promise<HostSelection>;
}

export interface HostSequenceEditor {
  createOverwriteItemAction(projectItem: HostProjectItem, time: HostTime, videoTrackIndex: number, audioTrackIndex: number): HostAction;
  createInsertProjectItemAction(
    projectItem: HostProjectItem,
    time: HostTime,
    videoTrackIndex: number,
    audioTrackIndex: number,
    limitShift: boolean,
  ): HostAction;
}

export interface HostProject {
  readonly name: string;
  getActiveSequence(): Promise<HostSequence | null>;
  getRootItem(): Promise<HostFolderItem>;
  importFiles(filePaths: string[], suppressUI?: boolean, targetBin?: HostProjectItem, asNumberedStills?: boolean): Promise<boolean>;
  executeTransaction(callback: (compoundAction: HostCompoundAction) => void, undoString?: string): boolean;
  lockedAccess(callback: () => void): void;
}

/** The `premierepro` module's statics the adapter needs. */
export interface PremiereApi {
  Project: { getActiveProject(): Promise<HostProject | null> };
  TickTime: { createWithTicks(ticks: string): HostTime };
  SequenceEditor: { getEditor(sequence: HostSequence): HostSequenceEditor };
  ClipProjectItem: { cast(projectItem: HostProjectItem): HostClipProjectItem };
  FolderItem: { cast(projectItem: HostProjectItem): HostFolderItem };
  ProjectItem: { readonly TYPE_BIN: number; readonly TYPE_CLIP: number };
  Constants: { TrackItemType: { readonly CLIP: number } };
}

// ---- drift checks: each line fails to compile if the real type no longer fits the slice above ----------------
type Fits<Real, Slice> = Real extends Slice ? true : never;
export const PREMIERE_TYPES_FIT: [
  Fits<Ppro.TickTime, HostTime>,
  Fits<Ppro.CompoundAction, HostCompoundAction>,
  Fits<Ppro.ProjectItem, HostProjectItem>,
  Fits<Ppro.FolderItem, HostFolderItem>,
  Fits<Ppro.ClipProjectItem, HostClipProjectItem>,
  Fits<Ppro.VideoClipTrackItem, HostVideoTrackItem>,
  Fits<Ppro.AudioClipTrackItem, HostTrackItem>,
  Fits<Ppro.VideoTrack, HostVideoTrack>,
  Fits<Ppro.TrackItemSelection, HostSelection>,
  Fits<Ppro.Sequence, HostSequence>,
  Fits<Ppro.SequenceEditor, HostSequenceEditor>,
  Fits<Ppro.Project, HostProject>,
  Fits<Ppro.premierepro, PremiereApi>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];
