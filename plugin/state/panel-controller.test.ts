/**
 * The three jobs end to end below the UI: a real daemon (tiny model), the real DaemonClient over a real WebSocket,
 * the host adapter on the fake Premiere, clips written to a real folder and measured from their MP4 headers.
 */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import WebSocket from 'ws';
import { startTestDaemon, tempDir } from '../../test/support/daemon-harness';
import { FakeClipItem, createFakePremiere, mp4DurationTicks, type FakeSequence } from '../host/fake-premiere';
import { createTimelineHost } from '../host/timeline-host';
import { createDaemonClient, type DaemonClient } from '../net/daemon-client';
import type { PanelPlatform } from '../platform/platform';
import { planRequest } from './job-request';
import { PanelController, TOKEN_KEY } from './panel-controller';
import type { JobView, PanelState } from './panel-state';

type Daemon = Awaited<ReturnType<typeof startTestDaemon>>;
const TPF_25 = 10_160_640_000;
const TPF_23976 = 10_594_584_000;

/** What the panels' Copy buttons put on the clipboard. */
const copied: string[] = [];

function nodePlatform(clipsDir: string, secrets = new Map<string, string>(), store = new Map<string, string>()): PanelPlatform {
  return {
    secrets: { get: async (k) => secrets.get(k) ?? null, set: async (k, v) => void secrets.set(k, v), remove: async (k) => void secrets.delete(k) },
    store: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    clips: {
      save: async (name, bytes) => {
        const file = path.join(clipsDir, name);
        fs.writeFileSync(file, bytes);
        return file;
      },
      reveal: async (p) => void fs.accessSync(p),
    },
    clipboard: { writeText: async (text) => void copied.push(text) },
  };
}

function until(controller: PanelController, pred: (s: PanelState) => boolean, what: string, timeoutMs = 60_000): Promise<PanelState> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const timer = setTimeout(() => (off(), reject(new Error(`timed out waiting for ${what}: ${JSON.stringify({ ...controller.store.get(), jobs: controller.store.get().jobs.map((j) => ({ ...j, preview: !!j.preview })) })}`))), timeoutMs);
    off = controller.store.subscribe((s) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      queueMicrotask(() => off());
      resolve(s);
    });
  });
}

/** Width and height of an MP4's video track, from its `tkhd` box (16.16 fixed point at the box's end). */
function mp4Size(bytes: Buffer): [number, number] {
  const at = bytes.indexOf('tkhd');
  const end = at - 4 + bytes.readUInt32BE(at - 4);
  return [bytes.readUInt32BE(end - 8) >>> 16, bytes.readUInt32BE(end - 4) >>> 16];
}

const settled = (id: string) => (s: PanelState) => ['placed', 'ready', 'failed', 'cancelled'].includes(s.jobs.find((j) => j.id === id)?.phase ?? '');

describe('PanelController with a real daemon and the fake Premiere', () => {
  let daemon: Daemon;
  let clipsDir: string;
  const clients: DaemonClient[] = [];
  beforeAll(async () => {
    daemon = await startTestDaemon();
    clipsDir = tempDir('longshot-clips-');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon.close();
    for (const dir of [daemon.dataDir, clipsDir]) fs.rmSync(dir, { recursive: true, force: true });
  });

  function panel(platform: PanelPlatform, tpf = TPF_25) {
    const ppro = createFakePremiere(async (p) => mp4DurationTicks(fs.readFileSync(p)));
    const sequence = ppro.project.addSequence('Main', tpf, 2);
    const client = createDaemonClient({
      baseUrl: `http://127.0.0.1:${daemon.port}`,
      createSocket: (url, protocols) => new WebSocket(url, protocols),
      fetch: (url, init) => fetch(url, init),
      clientName: 'jest panel',
      backoff: { initialMs: 50, maxMs: 200 },
    });
    clients.push(client);
    const controller = new PanelController({ client, host: createTimelineHost(ppro), platform, now: () => new Date('2026-11-24T22:00:00Z') });
    return { ppro, sequence, client, controller };
  }

  async function connected(controller: PanelController) {
    await controller.start();
    return until(controller, (s) => s.connection.status === 'connected', 'connected');
  }

  const lastJob = (c: PanelController): JobView => c.store.get().jobs[0]!;

  it('pairs once, makes B-roll at the playhead with previews, places it as one undo step, keeps history', async () => {
    const secrets = new Map<string, string>();
    const store = new Map<string, string>();
    const { ppro, sequence, controller } = panel(nodePlatform(clipsDir, secrets, store));
    await controller.start();
    expect(controller.store.get().connection.status).toBe('unpaired');
    await controller.pair(daemon.pairing.createCode().code);
    expect(secrets.get(TOKEN_KEY)).toBe(daemon.token);
    await until(controller, (s) => s.connection.status === 'connected', 'connected');
    // The model may still be loading at `welcome`; the client follows /health until it names it.
    await until(controller, (s) => s.connection.info?.model === 'tiny-uvit', 'the model name');

    sequence.playheadTicks = 10 * TPF_25 + 123;
    const previews: string[] = [];
    controller.store.subscribe((s) => s.jobs[0]?.preview && previews.push(s.jobs[0].preview));
    await controller.generate('broll', { prompt: 'a red circle bounces', seconds: 1, seed: 3, steps: 2 });
    const id = lastJob(controller).id;
    const state = await until(controller, settled(id), 'the B-roll clip');
    const job = state.jobs[0]!;
    expect(job).toMatchObject({ phase: 'placed', placement: { trackIndex: 0, startTicks: 10 * TPF_25, endTicks: 35 * TPF_25 } });
    expect(previews.length).toBeGreaterThan(0);
    expect(mp4DurationTicks(fs.readFileSync(job.filePath!))).toBe(25 * TPF_25);
    expect(sequence.layout()).toEqual([[0, 10, 35, path.basename(job.filePath!)]]);
    // History keeps the seed, the model and the daemon's poster (a JPEG of the clip's size).
    const withPoster = (await until(controller, (s) => s.jobs[0]?.poster != null, 'the poster')).jobs[0]!;
    expect(withPoster).toMatchObject({ seed: 3, model: 'tiny-uvit' });
    const poster = jpeg.decode(Buffer.from(withPoster.poster!, 'base64'));
    expect([poster.width, poster.height]).toEqual(mp4Size(fs.readFileSync(job.filePath!)));
    await controller.copySeed(id);
    expect(copied).toEqual(['3']);
    expect(controller.store.get().notice).toEqual({ kind: 'info', text: 'seed 3 copied' });
    expect(ppro.project.undo()).toBe('Longshot: B-roll');
    expect(sequence.layout()).toEqual([]);

    // A reloaded panel (same secure storage and local storage) connects by itself and shows the history.
    const reloaded = panel(nodePlatform(clipsDir, secrets, store));
    await connected(reloaded.controller);
    expect(reloaded.controller.store.get().jobs.map((j) => [j.id, j.phase, j.seed, j.model, j.poster])).toEqual([[id, 'placed', 3, 'tiny-uvit', withPoster.poster]]);
  });

  it('extends a selected clip and fills a gap with exactly its frames at 23.976 fps', async () => {
    const { sequence, controller } = panel(nodePlatform(clipsDir, new Map([[TOKEN_KEY, daemon.token]])), TPF_23976);
    await connected(controller);

    // Footage: a real clip from the daemon, 24 frames.
    await controller.generate('broll', { prompt: 'a blue square', seconds: 24 / (24000 / 1001), seed: 1, steps: 1 });
    const made = (await until(controller, settled(lastJob(controller).id), 'footage')).jobs[0]!;
    expect(made.placement).toMatchObject({ startTicks: 0, endTicks: 24 * TPF_23976 });
    const source = new FakeClipItem('footage.mp4', made.filePath!, 24 * TPF_23976);

    // Extend: the selected clip is the one just placed.
    sequence.selection = [sequence.tracks[0]!.items[0]!];
    await controller.generate('extend', { prompt: 'a blue square', seconds: 0.5, steps: 1 });
    const extended = (await until(controller, settled(lastJob(controller).id), 'extension')).jobs[0]!;
    expect(planRequest(extended.plan).references).toEqual([{ role: 'before', source: { kind: 'media', path: made.filePath, timeSeconds: expect.any(Number) } }]);
    expect(extended).toMatchObject({ phase: 'placed', placement: { trackIndex: 0, startTicks: 24 * TPF_23976, endTicks: 36 * TPF_23976 } });

    // Fill: a gap of 17 frames between two clips on V2.
    sequence.addClip(1, source, 100, 10);
    sequence.addClip(1, source, 127, 10, 5);
    sequence.playheadTicks = 115 * TPF_23976;
    await controller.generate('fill', { prompt: '', seconds: 4, steps: 1 });
    const filled = (await until(controller, settled(lastJob(controller).id), 'fill')).jobs[0]!;
    expect(filled).toMatchObject({ phase: 'placed', placement: { trackIndex: 1, startTicks: 110 * TPF_23976, endTicks: 127 * TPF_23976 } });
    expect(mp4DurationTicks(fs.readFileSync(filled.filePath!))).toBe(17 * TPF_23976);
    expect(sequence.layout().filter(([track]) => track === 1).map(([, s, e]) => [s, e])).toEqual([[100, 110], [127, 137], [110, 127]]);
  });

  it('makes ×N variations with seeds s, s+1, … and places each as it finishes', async () => {
    const { sequence, controller } = panel(nodePlatform(clipsDir, new Map([[TOKEN_KEY, daemon.token]])));
    await connected(controller);
    sequence.playheadTicks = 0;
    // No seed: the daemon picks s for the first, the panel counts on from it.
    await controller.generate('broll', { prompt: 'a red circle', seconds: 0.5, steps: 1, variations: 2 });
    const [second, first] = controller.store.get().jobs;
    expect(second!.seed).toBe(((first!.seed ?? 0) + 1) % 2 ** 32);
    await until(controller, (s) => s.jobs.filter((j) => j.phase === 'placed').length === 2, 'both variations placed');
    expect(sequence.layout().map(([track, start, end]) => [track, start, end]).sort()).toEqual([[0, 0, 13], [1, 0, 13]]);
    // A seed given: s, s+1, … from it, wrapping past MAX_SEED as the daemon does.
    await controller.generate('broll', { prompt: 'a red circle', seconds: 0.5, steps: 1, seed: 2 ** 32 - 1, variations: 2 });
    expect(controller.store.get().jobs.slice(0, 2).map((j) => j.seed)).toEqual([0, 2 ** 32 - 1]);
    await until(controller, (s) => s.jobs.filter((j) => j.phase === 'placed').length === 4, 'the wrapped pair placed');
    await controller.generate('broll', { prompt: 'x', seconds: 0.5, variations: 17 });
    expect(controller.store.get().notice?.text).toBe('×N: from 1 to 16 variations');
  });

  it('turns timeline and connection problems into clear notices', async () => {
    const platform = nodePlatform(clipsDir);
    const { ppro, controller } = panel(platform);
    await controller.start();
    await controller.generate('broll', { prompt: 'x', seconds: 1 });
    expect(controller.store.get().notice?.text).toMatch(/not paired: run `npx longshot pair`/);
    await platform.secrets.set(TOKEN_KEY, daemon.token);
    await controller.pair('BAD-CODE');
    expect(controller.store.get().notice?.text).toMatch(/^pairing failed: /);

    const { controller: paired } = panel(platform);
    await connected(paired);
    await paired.generate('extend', { prompt: 'x', seconds: 2 });
    expect(paired.store.get().notice?.text).toMatch(/no clip is selected/);
    await paired.generate('fill', { prompt: 'x', seconds: 2 });
    expect(paired.store.get().notice?.text).toMatch(/playhead is not in a gap/);
    ppro.project.activeSequence = null;
    await controller.generate('broll', { prompt: 'x', seconds: 1 });
    expect(controller.store.get().notice?.text).toMatch(/no sequence is open/);
  });

  it('offers a clip that finished while the panel was closed, and places it on request', async () => {
    const secrets = new Map([[TOKEN_KEY, daemon.token]]);
    const store = new Map<string, string>();
    const first = panel(nodePlatform(clipsDir, secrets, store));
    await connected(first.controller);
    await first.controller.generate('broll', { prompt: 'a green triangle', seconds: 1, steps: 3 });
    const id = lastJob(first.controller).id;
    first.client.close(); // the panel closes while the job runs
    for (let i = 0; i < 600 && daemon.queue.get(id).state !== 'done'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(daemon.queue.get(id).state).toBe('done');

    const second = panel(nodePlatform(clipsDir, secrets, store));
    await connected(second.controller);
    const offered = (await until(second.controller, (s) => s.jobs[0]?.phase === 'ready', 'the offer')).jobs[0]!;
    expect(offered.message).toMatch(/finished while the panel was closed/);
    expect(second.sequence.layout()).toEqual([]);
    await second.controller.place(id);
    const placed = (await until(second.controller, (s) => s.jobs[0]?.phase === 'placed', 'placing the offered clip')).jobs[0]!;
    expect(placed.placement?.trackIndex).toBe(0);
    expect(second.sequence.layout()).toHaveLength(1);
  });

  it('cancels a running job and re-queues it with retry', async () => {
    const { controller } = panel(nodePlatform(clipsDir, new Map([[TOKEN_KEY, daemon.token]])));
    await connected(controller);
    await controller.generate('broll', { prompt: 'a long shot', seconds: 60, steps: 8 });
    const id = lastJob(controller).id;
    await until(controller, (s) => s.jobs[0]?.phase === 'running' && s.jobs[0].progress !== null, 'the job running');
    controller.cancel(id);
    await until(controller, (s) => s.jobs[0]?.phase === 'cancelled', 'the cancellation');
    await controller.retry(id);
    expect(lastJob(controller)).toMatchObject({ id, phase: 'queued', progress: null });
    await until(controller, (s) => s.jobs[0]?.phase === 'running', 'the retried job running');
    controller.cancel(id);
    await until(controller, (s) => s.jobs[0]?.phase === 'cancelled', 'the second cancellation');
  });
});
