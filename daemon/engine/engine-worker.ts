// The engine's thread behind engine-thread.ts, bundled to dist/engine-worker.cjs: it loads model packages (ORT session
// creation is seconds of synchronous native work), samples and carries footage motion (pure JS, about a second per
// second of 640x360), so the daemon's thread only serves HTTP, WebSocket, the queue and SQLite. Its loaded pipelines,
// its file-hash cache and the optimised-graph cache live here, for the worker's life.
import pino from 'pino';
import { parentPort, workerData } from 'node:worker_threads';
import { FileHashCache } from './model-package';
import { OptimizedGraphCache } from './ort-session-cache';
import { createVideoPipeline } from './pipeline';
import { describePipeline, errorToWire, movable, type EngineReply, type EngineRequest, type EngineWorkerData } from './engine-thread';
import type { VideoPipeline } from './types';

const port = parentPort!;
const settings = workerData as EngineWorkerData;
// Log lines go to the daemon's logger (engine-thread.ts relays them), so they land where its own lines do.
const logger = pino({ level: settings.logLevel, base: null }, { write: (line: string) => port.postMessage({ type: 'log', line } satisfies EngineReply) });
const hashes = new FileHashCache();
const graphCache = settings.graphCacheDir ? new OptimizedGraphCache(settings.graphCacheDir) : undefined;
const pipelines = new Map<number, VideoPipeline>();
const runs = new Map<number, AbortController>();

function pipelineOf(id: number): VideoPipeline {
  const pipeline = pipelines.get(id);
  // The daemon's side never asks for a pipeline it did not load here: a broken promise between the two threads.
  if (!pipeline) throw new Error(`no pipeline ${id} on the engine thread`);
  return pipeline;
}

async function handle(request: Exclude<EngineRequest, { type: 'cancel' }>): Promise<void> {
  const reply = (message: EngineReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  switch (request.type) {
    case 'load': {
      const pipeline = await createVideoPipeline(request.packageDir, { device: settings.device, threads: settings.threads, logger, hashes, graphCache });
      pipelines.set(request.id, pipeline);
      return reply({ type: 'result', id: request.id, value: describePipeline(pipeline) });
    }
    case 'unknownWords':
      return reply({ type: 'result', id: request.id, value: await pipelineOf(request.pipeline).unknownWords(request.prompt) });
    case 'run': {
      const controller = new AbortController();
      runs.set(request.id, controller);
      try {
        const frames = await pipelineOf(request.pipeline).run(request.input, {
          signal: controller.signal,
          previewIntervalMs: request.previewIntervalMs,
          onProgress: (progress) => {
            // A copy of the preview moves across: the encoder may reuse its own buffer for the next one.
            const previewJpeg = progress.previewJpeg?.slice() ?? null;
            reply({ type: 'progress', id: request.id, progress: { ...progress, previewJpeg } }, previewJpeg ? [previewJpeg.buffer as ArrayBuffer] : []);
          },
          onReadBack: request.wantsReadBack ? (readBack) => reply({ type: 'readBack', id: request.id, readBack }) : undefined,
        });
        const { arrays, transfer } = movable(frames);
        return reply({ type: 'result', id: request.id, value: arrays }, transfer);
      } finally {
        runs.delete(request.id);
      }
    }
    case 'close': {
      const pipeline = pipelines.get(request.pipeline);
      pipelines.delete(request.pipeline);
      await pipeline?.close();
      return reply({ type: 'result', id: request.id, value: null });
    }
  }
}

port.on('message', (request: EngineRequest) => {
  if (request.type === 'cancel') {
    runs.get(request.id)?.abort();
    return;
  }
  handle(request).catch((err: unknown) => port.postMessage({ type: 'error', id: request.id, error: errorToWire(err) } satisfies EngineReply));
});
