/**
 * The Chromium harness's panel entry: the real panel (startPanel) with the fake Premiere as `premierepro`, a
 * browser platform and the real Spectrum Web Components in Premiere's dark theme. The daemon's address comes from
 * the page's hash (#daemon=http://127.0.0.1:PORT). The fake timeline: a 25 fps sequence, a clip on V1 under the
 * playhead, V2 free.
 */
import { FakeClipItem, createFakePremiere, mp4DurationTicks } from '../host/fake-premiere';
import { startPanel } from '../panel';
import { createBrowserPlatform } from './browser-platform';
import { defineSpectrumElements } from './spectrum-elements';

const TPF_25 = 10_160_640_000;

/**
 * The daemon's stream as the page receives it, with a gate: `holdMidSampling()` stops delivering messages after the
 * first preview at or past half a job's steps, until `release()`, so the test sees (and photographs) a job while it
 * samples however fast the model is. Nothing is dropped: held messages are delivered in order on release.
 */
function createStreamGate() {
  let holdAfter: ((message: { type?: string; step?: number; total?: number; preview?: string | null }) => boolean) | null = null;
  let held: (() => void)[] | null = null;
  return {
    socket(url: string, protocols: string[]): WebSocket {
      const ws = new WebSocket(url, protocols);
      // The client assigns onmessage; a plain property keeps that handler off the socket, and the gate calls it.
      Object.defineProperty(ws, 'onmessage', { value: null, writable: true });
      ws.addEventListener('message', (event) => {
        const deliver = () => ws.onmessage?.call(ws, event);
        if (held) return void held.push(deliver);
        deliver();
        if (holdAfter?.(JSON.parse(String(event.data)))) [holdAfter, held] = [null, []];
      });
      return ws;
    },
    holdMidSampling: () => (holdAfter = (m) => m.type === 'progress' && !!m.preview && 2 * m.step! >= m.total!),
    isHolding: () => held !== null,
    release: () => {
      const queue = held ?? [];
      held = null;
      for (const deliver of queue) deliver();
    },
  };
}

const app = document.getElementById('app')!;
defineSpectrumElements(app);
const stream = createStreamGate();
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
  holdMidSampling: stream.holdMidSampling,
  isHolding: stream.isHolding,
  release: stream.release,
};
void startPanel({
  ppro,
  platform: createBrowserPlatform(window.localStorage, clips, revealed, copied),
  createSocket: stream.socket,
  fetch: (url, init) => fetch(url, init),
  baseUrl,
  root: app,
});
