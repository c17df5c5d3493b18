import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, type Config } from '../config';
import { createVideoPipeline } from '../engine/pipeline';
import { createLogger } from '../log';
import { readFramesAt } from '../media/decode';
import { resolveFfmpeg } from '../media/ffmpeg-path';

/** What `longshot bench` reports of a footage model: the extend of 1 s of 640×360 footage at 30 fps. */
export interface FootageBenchFigures {
  model: string;
  /** `longshot generate "" --extend CLIP@2 --seconds 1 --fps 30`, a process of its own: CLI start, model loading,
   * reading, sampling, motion transfer, encoding. */
  extend_1s_640x360_seconds: number;
  /** In one process, the model loaded: from the run's call to its first preview, and the sampler's step. */
  first_preview_ms: number;
  step_ms: number;
  /** Carrying the footage along the sampled motion, at 640×360, for the 30 frames. */
  motion_transfer_ms: number;
}

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;

/** Makes 3 s of 640×360 footage at 30 fps (ffmpeg's moving test pattern) and extends it by 1 s, as the figure. */
export async function benchFootage(config: Config, packageDir: string, modelName: string): Promise<FootageBenchFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-bench-'));
  try {
    const ffmpeg = await resolveFfmpeg(config.ffmpegPath);
    const clip = path.join(dir, 'footage.mp4');
    await ffmpeg.run(['-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}:duration=3`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);

    // 1. Through the CLI, as an editor would run it.
    const started = performance.now();
    await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'longshot.cjs'), 'generate', '', '--extend', `${clip}@2`, '--seconds', '1', '--fps', String(FPS),
      '--models-dir', config.modelsDir, '--model', modelName, '--threads', String(config.threads), '--device', config.device, '-o', path.join(dir, 'extend.mp4')]);
    const cliSeconds = (performance.now() - started) / 1000;

    // 2. In this process: the first preview, the step, the motion transfer after the last step.
    const pipeline = await createVideoPipeline(packageDir, { device: config.device, threads: config.threads, logger: createLogger('silent') });
    try {
      const before = await readFramesAt(ffmpeg, clip, { timeSeconds: 2, count: pipeline.contextFrames, side: 'before', width: WIDTH, height: HEIGHT, field: 'bench' });
      const { steps, guidance, sampler } = pipeline.defaults;
      const stamps: number[] = [];
      let firstPreview = Number.NaN;
      const t0 = performance.now();
      await pipeline.run(
        { prompt: '', frameCount: FPS, fps: FPS, seed: 1, steps, guidance, sampler, before, after: [], footageSize: { width: WIDTH, height: HEIGHT } },
        {
          onProgress: (p) => {
            if (p.stage !== 'sampling') return;
            stamps.push(performance.now());
            if (Number.isNaN(firstPreview) && p.previewJpeg) firstPreview = performance.now() - t0;
          },
        },
      );
      const done = performance.now();
      const intervals = stamps.slice(1).map((s, i) => s - stamps[i]!).sort((a, b) => a - b);
      return {
        model: `${pipeline.modelName} ${pipeline.modelVersion}`,
        extend_1s_640x360_seconds: cliSeconds,
        first_preview_ms: firstPreview,
        step_ms: intervals[Math.floor(intervals.length / 2)] ?? Number.NaN,
        motion_transfer_ms: done - stamps.at(-1)!,
      };
    } finally {
      await pipeline.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
