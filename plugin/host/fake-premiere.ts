/**
 * The one fake of the project: an in-memory Premiere that implements the host adapter's slice of the
 * `premierepro` module (premiere-api.ts, itself checked against @adobe/premierepro). It keeps a timeline of video
 * tracks, bins, a selection, locked tracks and an undo stack, and behaves like Premiere where the panel relies on
 * it: 0-based track indexes, overwrite edits, inserts past the last track adding a track, transactions that must
 * run inside lockedAccess and that Premiere refuses on a locked track.
 */
import type {
  HostAction,
  HostClipProjectItem,
  HostCompoundAction,
  HostFolderItem,
  HostProject,
  HostProjectItem,
  HostSelection,
  HostSequence,
  HostSequenceEditor,
  HostTime,
  HostTrackItem,
  HostVideoTrack,
  HostVideoTrackItem,
  PremiereApi,
} from './premiere-api';
import { TICKS_PER_SECOND } from './timeline-math';

const TYPE_CLIP = 1;
const TYPE_BIN = 2;
const FAKE_TRACK_ITEM_TYPE = { EMPTY: 0, CLIP: 1 } as const;

export class FakeTime implements HostTime {
  constructor(readonly ticksNumber: number) {}
  get ticks(): string {
    return String(this.ticksNumber);
  }
  get seconds(): number {
    return this.ticksNumber / TICKS_PER_SECOND;
  }
}

/** An edit waiting for its transaction; `trackIndex` is the track it writes (locked tracks refuse it). */
class FakeAction {
  constructor(
    readonly sequence: FakeSequence | null,
    readonly trackIndex: number | null,
    readonly apply: () => void,
  ) {}
}

class FakeCompoundAction implements HostCompoundAction {
  readonly actions: FakeAction[] = [];
  addAction(action: HostAction): boolean {
    this.actions.push(action as FakeAction);
    return true;
  }
}

export class FakeClipItem implements HostClipProjectItem {
  readonly type = TYPE_CLIP;
  constructor(
    readonly name: string,
    readonly mediaPath: string,
    readonly durationTicks: number,
  ) {}
  async getMediaFilePath(): Promise<string> {
    return this.mediaPath;
  }
}

export class FakeBin implements HostFolderItem {
  readonly type = TYPE_BIN;
  items: (FakeClipItem | FakeBin)[] = [];
  constructor(readonly name: string) {}
  async getItems(): Promise<HostProjectItem[]> {
    return [...this.items];
  }
  createBinAction(name: string, makeUnique: boolean): HostAction {
    return new FakeAction(null, null, () => {
      const taken = this.items.some((i) => i.name === name);
      this.items.push(new FakeBin(makeUnique && taken ? `${name} 1` : name));
    });
  }
}

export class FakeTrackItem implements HostVideoTrackItem {
  constructor(
    readonly projectItem: FakeClipItem,
    readonly track: FakeVideoTrack,
    readonly startTicks: number,
    readonly endTicks: number,
    /** Source in point, ticks from the start of the media. */
    readonly inTicks: number,
  ) {}
  async getStartTime(): Promise<HostTime> {
    return new FakeTime(this.startTicks);
  }
  async getEndTime(): Promise<HostTime> {
    return new FakeTime(this.endTicks);
  }
  async getInPoint(): Promise<HostTime> {
    return new FakeTime(this.inTicks);
  }
  async getOutPoint(): Promise<HostTime> {
    return new FakeTime(this.inTicks + this.endTicks - this.startTicks);
  }
  async getTrackIndex(): Promise<number> {
    return this.track.index;
  }
  async getProjectItem(): Promise<HostProjectItem> {
    return this.projectItem;
  }
  createAddVideoTransitionAction(): HostAction {
    throw new Error('the fake Premiere has no transitions');
  }
}

/** The audio half of a linked clip: selectable, but not a video item. */
export class FakeAudioTrackItem implements HostTrackItem {
  constructor(readonly video: FakeTrackItem) {}
  getStartTime = () => this.video.getStartTime();
  getEndTime = () => this.video.getEndTime();
  getInPoint = () => this.video.getInPoint();
  getOutPoint = () => this.video.getOutPoint();
  getTrackIndex = () => this.video.getTrackIndex();
  getProjectItem = () => this.video.getProjectItem();
}

export class FakeVideoTrack implements HostVideoTrack {
  items: FakeTrackItem[] = [];
  /** Premiere refuses transactions that edit this track. */
  locked = false;
  /** Premiere accepts edits to this track but does not carry them out (how a locked track may behave). */
  ignoresEdits = false;
  constructor(readonly index: number) {}
  get name(): string {
    return `Video ${this.index + 1}`;
  }
  async getIndex(): Promise<number> {
    return this.index;
  }
  getTrackItems(trackItemType: number, includeEmptyTrackItems: boolean): HostVideoTrackItem[] {
    if (trackItemType !== FAKE_TRACK_ITEM_TYPE.CLIP || includeEmptyTrackItems) throw new Error('the fake lists clips only');
    return [...this.items].sort((a, b) => a.startTicks - b.startTicks);
  }
}

export class FakeSequence implements HostSequence {
  tracks: FakeVideoTrack[] = [];
  playheadTicks = 0;
  selection: HostTrackItem[] = [];
  constructor(
    readonly name: string,
    readonly ticksPerFrame: number,
    trackCount = 3,
  ) {
    for (let i = 0; i < trackCount; i++) this.tracks.push(new FakeVideoTrack(i));
  }
  async getPlayerPosition(): Promise<HostTime> {
    return new FakeTime(this.playheadTicks);
  }
  async getTimebase(): Promise<string> {
    return String(this.ticksPerFrame);
  }
  async getVideoTrackCount(): Promise<number> {
    return this.tracks.length;
  }
  async getVideoTrack(trackIndex: number): Promise<HostVideoTrack> {
    const track = this.tracks[trackIndex];
    if (!track) throw new Error(`no video track ${trackIndex}`);
    return track;
  }
  async getSelection(): Promise<HostSelection> {
    const items = [...this.selection];
    return { getTrackItems: async () => items };
  }

  /** Test set-up: a clip of `item` from `startFrame` for `frames` frames, its source starting `inFrame` into the media. */
  addClip(trackIndex: number, item: FakeClipItem, startFrame: number, frames: number, inFrame = 0): FakeTrackItem {
    const track = this.tracks[trackIndex]!;
    const clip = new FakeTrackItem(item, track, startFrame * this.ticksPerFrame, (startFrame + frames) * this.ticksPerFrame, inFrame * this.ticksPerFrame);
    track.items.push(clip);
    return clip;
  }

  /** Every clip as [track, start, end] in frames, for comparing whole timelines in tests. */
  layout(): [number, number, number, string][] {
    return this.tracks.flatMap((t) => t.items.map((c): [number, number, number, string] => [t.index, c.startTicks / this.ticksPerFrame, c.endTicks / this.ticksPerFrame, c.projectItem.name]));
  }

  /** Overwrites [start, end) on a track with a clip of `item`, trimming or removing what was there. */
  overwrite(track: FakeVideoTrack, item: FakeClipItem, startTicks: number): void {
    const endTicks = startTicks + item.durationTicks;
    const kept: FakeTrackItem[] = [];
    for (const c of track.items) {
      if (c.endTicks <= startTicks || c.startTicks >= endTicks) kept.push(c);
      else {
        if (c.startTicks < startTicks) kept.push(new FakeTrackItem(c.projectItem, track, c.startTicks, startTicks, c.inTicks));
        if (c.endTicks > endTicks) kept.push(new FakeTrackItem(c.projectItem, track, endTicks, c.endTicks, c.inTicks + endTicks - c.startTicks));
      }
    }
    track.items = [...kept, new FakeTrackItem(item, track, startTicks, endTicks, 0)];
  }
}

class FakeSequenceEditor implements HostSequenceEditor {
  constructor(readonly sequence: FakeSequence) {}

  createOverwriteItemAction(projectItem: HostProjectItem, time: HostTime, videoTrackIndex: number): HostAction {
    const seq = this.sequence;
    return new FakeAction(seq, videoTrackIndex, () => {
      const track = seq.tracks[videoTrackIndex];
      if (!track) throw new Error(`no video track ${videoTrackIndex} to overwrite`);
      seq.overwrite(track, projectItem as FakeClipItem, Number(time.ticks));
    });
  }

  createInsertProjectItemAction(projectItem: HostProjectItem, time: HostTime, videoTrackIndex: number, _audio: number, limitShift: boolean): HostAction {
    const seq = this.sequence;
    return new FakeAction(seq, videoTrackIndex, () => {
      while (seq.tracks.length <= videoTrackIndex) seq.tracks.push(new FakeVideoTrack(seq.tracks.length));
      const item = projectItem as FakeClipItem;
      const at = Number(time.ticks);
      // An insert pushes later clips right: on the target track only with limitShift, else on every track.
      for (const track of limitShift ? [seq.tracks[videoTrackIndex]!] : seq.tracks) {
        track.items = track.items.map((c) => (c.startTicks >= at ? new FakeTrackItem(c.projectItem, track, c.startTicks + item.durationTicks, c.endTicks + item.durationTicks, c.inTicks) : c));
      }
      const track = seq.tracks[videoTrackIndex]!;
      track.items.push(new FakeTrackItem(item, track, at, at + item.durationTicks, 0));
    });
  }
}

interface Snapshot {
  tracks: Map<FakeSequence, FakeVideoTrack[]>;
  items: Map<FakeSequence, Map<FakeVideoTrack, FakeTrackItem[]>>;
  bins: Map<FakeBin, (FakeClipItem | FakeBin)[]>;
}

export class FakeProject implements HostProject {
  readonly root = new FakeBin('root');
  sequences: FakeSequence[] = [];
  activeSequence: FakeSequence | null = null;
  /** Labels of committed transactions, oldest first. */
  readonly undoStack: { label: string; before: Snapshot }[] = [];
  private locked = false;

  constructor(
    readonly name: string,
    /** Duration in ticks of a media file (the fake reads real files: see mp4DurationTicks). */
    private readonly mediaDurationTicks: (path: string) => Promise<number>,
  ) {}

  async getActiveSequence(): Promise<HostSequence | null> {
    return this.activeSequence;
  }
  async getRootItem(): Promise<HostFolderItem> {
    return this.root;
  }
  async importFiles(filePaths: string[], _suppressUI?: boolean, targetBin?: HostProjectItem): Promise<boolean> {
    const bin = (targetBin as FakeBin | undefined) ?? this.root;
    for (const path of filePaths) {
      const durationTicks = await this.mediaDurationTicks(path);
      bin.items.push(new FakeClipItem(path.split(/[\\/]/).pop()!, path, durationTicks));
    }
    return true;
  }
  lockedAccess(callback: () => void): void {
    this.locked = true;
    try {
      callback();
    } finally {
      this.locked = false;
    }
  }
  executeTransaction(callback: (compoundAction: HostCompoundAction) => void, undoString?: string): boolean {
    if (!this.locked) throw new Error('executeTransaction outside lockedAccess');
    const compound = new FakeCompoundAction();
    callback(compound);
    if (compound.actions.some((a) => a.sequence && a.trackIndex !== null && a.sequence.tracks[a.trackIndex]?.locked)) return false;
    const before = this.snapshot();
    for (const action of compound.actions) {
      if (!(action.sequence && action.trackIndex !== null && action.sequence.tracks[action.trackIndex]?.ignoresEdits)) action.apply();
    }
    this.undoStack.push({ label: undoString ?? '', before });
    return true;
  }

  /** Ctrl+Z: reverts the last transaction and returns its label. */
  undo(): string {
    const last = this.undoStack.pop();
    if (!last) throw new Error('nothing to undo');
    for (const [seq, tracks] of last.before.tracks) seq.tracks = tracks;
    for (const [, perTrack] of last.before.items) for (const [track, items] of perTrack) track.items = items;
    for (const [bin, items] of last.before.bins) bin.items = items;
    return last.label;
  }

  addSequence(name: string, ticksPerFrame: number, trackCount = 3): FakeSequence {
    const seq = new FakeSequence(name, ticksPerFrame, trackCount);
    this.sequences.push(seq);
    this.activeSequence = seq;
    return seq;
  }

  private snapshot(): Snapshot {
    const bins = new Map<FakeBin, (FakeClipItem | FakeBin)[]>();
    const walk = (bin: FakeBin) => {
      bins.set(bin, [...bin.items]);
      for (const i of bin.items) if (i instanceof FakeBin) walk(i);
    };
    walk(this.root);
    return {
      tracks: new Map(this.sequences.map((s) => [s, [...s.tracks]])),
      items: new Map(this.sequences.map((s) => [s, new Map(s.tracks.map((t) => [t, [...t.items]]))])),
      bins,
    };
  }
}

/** A fake `premierepro` module around one project. */
export interface FakePremiere extends PremiereApi {
  project: FakeProject | null;
}

/** Builds a fake `premierepro` module; `project` may be set to null to model Premiere with no project open. */
export function createFakePremiere(mediaDurationTicks: (path: string) => Promise<number>): FakePremiere & { project: FakeProject } {
  const fake = {
    project: new FakeProject('Fake project', mediaDurationTicks),
    Project: { getActiveProject: async () => fake.project },
    TickTime: { createWithTicks: (ticks: string) => new FakeTime(Number(ticks)) },
    SequenceEditor: { getEditor: (sequence: HostSequence) => new FakeSequenceEditor(sequence as FakeSequence) },
    ClipProjectItem: { cast: (item: HostProjectItem) => item as FakeClipItem },
    FolderItem: { cast: (item: HostProjectItem) => item as FakeBin },
    ProjectItem: { TYPE_BIN, TYPE_CLIP },
    Constants: { TrackItemType: FAKE_TRACK_ITEM_TYPE },
  };
  return fake;
}

/**
 * Duration in ticks of an MP4/MOV from its first track's `mdhd` box, as Premiere would read it. Enough for the
 * clips the daemon writes (one video track) and for test fixtures.
 */
export function mp4DurationTicks(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 4; i + 28 < bytes.length; i++) {
    if (bytes[i] !== 0x6d || bytes[i + 1] !== 0x64 || bytes[i + 2] !== 0x68 || bytes[i + 3] !== 0x64) continue; // "mdhd"
    const version = bytes[i + 4];
    const timescale = version === 1 ? view.getUint32(i + 24) : view.getUint32(i + 16);
    const duration = version === 1 ? Number(view.getBigUint64(i + 28)) : view.getUint32(i + 20);
    return Math.round((duration * TICKS_PER_SECOND) / timescale);
  }
  throw new Error('no mdhd box: not an MP4/MOV file');
}
