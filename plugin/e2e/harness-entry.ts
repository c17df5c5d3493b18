/**
 * The Chromium harness's panel entry: the real panel (startPanel) with the fake Premiere as `premierepro` and a
 * browser platform. The daemon's address comes from the page's hash (#daemon=http://127.0.0.1:PORT). The fake
 * timeline: a 25 fps sequence, a clip on V1 under the playhead, V2 free.
 */
import { FakeClipItem, createFakePremiere, mp4DurationTicks } from '../host/fake-premiere';
import { startPanel } from '../panel';
import { createBrowserPlatform } from './browser-platform';
import { defineSpectrumShims } from './spectrum-shim';

const TPF_25 = 10_160_640_000;

defineSpectrumShims(window);
const clips = new Map<string, Uint8Array>();
const revealed: string[] = [];
const copied: string[] = [];
const ppro = createFakePremiere(async (path) => {
  const bytes = clips.get(path);
  if (!bytes) throw new Error(`no such file ${path}`);
  return mp4DurationTicks(bytes);
});
const sequence = ppro.project.addSequence('Harness 25p', TPF_25, 2);
sequence.addClip(0, new FakeClipItem('interview.mp4', '/media/interview.mp4', 250 * TPF_25), 0, 250);
sequence.playheadTicks = 50 * TPF_25;

const baseUrl = new URLSearchParams(location.hash.slice(1)).get('daemon')!;
(window as unknown as { harness: object }).harness = {
  layout: () => sequence.layout(),
  revealed,
  copied,
  /** Selects the `clipIndex`-th clip (in time order) of a video track, as a click in the timeline would. */
  select: (trackIndex: number, clipIndex: number) => {
    sequence.selection = [...sequence.tracks[trackIndex]!.items].sort((a, b) => a.startTicks - b.startTicks).slice(clipIndex, clipIndex + 1);
  },
  setPlayhead: (frame: number) => (sequence.playheadTicks = frame * TPF_25),
};
void startPanel({
  ppro,
  platform: createBrowserPlatform(window.localStorage, clips, revealed, copied),
  createSocket: (url, protocols) => new WebSocket(url, protocols),
  fetch: (url, init) => fetch(url, init),
  baseUrl,
  root: document.getElementById('app')!,
});
