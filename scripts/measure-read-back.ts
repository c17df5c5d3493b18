/**
 * Measures how well a model package reads footage back (daemon/engine/read-back.ts): for each clip, the frames an
 * extend at the clip's middle would read, through the package's encoder and decoder exactly as a job reads them,
 * and the read-back figures, one JSON line a clip; then each group's range. The threshold of the `footage_unreadable`
 * warning (daemon/generation/job-warnings.ts) comes from these figures on real footage against ShapesWorld renders.
 *
 *   npx esbuild scripts/measure-read-back.ts --bundle --platform=node --external:onnxruntime-node --outfile=/tmp/read-back.cjs
 *   node /tmp/read-back.cjs models/shapesworld-uvit footage=../shared/footage/clips/* shapesworld=/tmp/renders/*.mp4
 */
import { silentLogger } from '../daemon/log';
import { createVideoPipeline } from '../daemon/engine/pipeline';
import type { ReadBack } from '../daemon/engine/read-back';
import { readFramesAt } from '../daemon/media/decode';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { probeMedia } from '../daemon/media/probe';

async function main(): Promise<void> {
  const [packageDir, ...groups] = process.argv.slice(2);
  if (!packageDir || !groups.length) throw new Error('usage: PACKAGE_DIR GROUP=FILE [GROUP=FILE …]');
  const ffmpeg = await resolveFfmpeg(null);
  const pipeline = await createVideoPipeline(packageDir, { device: 'cpu', threads: 0, logger: silentLogger() });
  const byGroup = new Map<string, ReadBack[]>();
  for (const arg of groups) {
    const [group, file] = arg.split('=') as [string, string];
    const info = await probeMedia(ffmpeg, file, 'clip');
    const timeSeconds = info.still || info.durationSeconds === null ? 0 : info.durationSeconds / 2;
    const before = await readFramesAt(ffmpeg, file, { timeSeconds, count: pipeline.contextFrames, side: 'before', width: pipeline.referenceWidth, height: pipeline.referenceHeight, field: 'clip' });
    let readBack: ReadBack | null = null;
    await pipeline.run({ prompt: '', frameCount: 1, fps: 24, seed: 1, steps: 1, guidance: 1, sampler: 'ddim', before, after: [] }, { onReadBack: (r) => (readBack = r) });
    const r = readBack!;
    byGroup.set(group, [...(byGroup.get(group) ?? []), r]);
    process.stdout.write(JSON.stringify({ group, file, timeSeconds: Number(timeSeconds.toFixed(3)), frames: r.frames, meanAbsError: Number(r.meanAbsError.toFixed(2)), unexplained: Number(r.unexplained.toFixed(3)) }) + '\n');
  }
  for (const [group, all] of byGroup) {
    const range = (key: 'meanAbsError' | 'unexplained') => {
      const values = all.map((r) => r[key]).sort((a, b) => a - b);
      return { min: Number(values[0]!.toFixed(3)), median: Number(values[Math.floor(values.length / 2)]!.toFixed(3)), max: Number(values.at(-1)!.toFixed(3)) };
    };
    process.stdout.write(JSON.stringify({ summary: group, clips: all.length, meanAbsError: range('meanAbsError'), unexplained: range('unexplained') }) + '\n');
  }
  await pipeline.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
