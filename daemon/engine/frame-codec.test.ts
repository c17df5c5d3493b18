import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createVideoPipeline } from './pipeline';
import { pipelineInput } from './testdata/pipeline-fixture';

// A graph's session is created when a job first needs it: the frame encoder only when a job reads references (an
// extend or a fill). The bundled ShapesWorld encoder, a refining one, takes seconds to load that B-roll never uses.
const BUNDLED = path.join(__dirname, '../../models/shapesworld-uvit');
const TINY_LATENT = path.join(__dirname, '../../models/testdata/tiny-latent');

/** A logger whose lines are kept, parsed: which graph sessions a pipeline created is in them. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
      done();
    },
  });
  const mentioning = (file: string) => lines.filter((line) => JSON.stringify(line).includes(file));
  return { logger: pino({ level: 'info' }, sink), lines, mentioning };
}

(existsSync(path.join(BUNDLED, 'model.json')) ? test : test.skip)('B-roll on the bundled package never creates the frame encoder session', async () => {
  const { logger, lines, mentioning } = recordingLogger();
  const pipeline = await createVideoPipeline(BUNDLED, { device: 'cpu', threads: 0, logger });
  try {
    const frames = await pipeline.run(pipelineInput({ frameCount: 4, steps: 2, before: [], after: [] }));
    expect(frames).toHaveLength(4);
    expect(mentioning('encoder.onnx')).toEqual([]);
    // The sessions it did create say so, each with its time.
    const ready = lines.filter((line) => String(line.msg).endsWith('session ready'));
    expect(ready.map((line) => [line.msg, line.graph])).toEqual([
      ['model session ready', 'uvit.onnx'],
      ['frame decoder session ready', 'decoder.onnx'],
    ]);
    for (const line of ready) expect(line.ms).toEqual(expect.any(Number));
  } finally {
    await pipeline.close();
  }
}, 120_000);

test('an extend creates the frame encoder session at its first reference, once', async () => {
  const { logger, mentioning } = recordingLogger();
  const pipeline = await createVideoPipeline(TINY_LATENT, { device: 'cpu', threads: 1, logger });
  try {
    expect(mentioning('encoder.onnx')).toEqual([]);
    const grey = new Uint8Array(pipeline.referenceWidth * pipeline.referenceHeight * 3).fill(128);
    const input = pipelineInput({ frameCount: 4, steps: 1, before: [grey, grey], after: [] });
    expect(await pipeline.run(input)).toHaveLength(4);
    expect(await pipeline.run(input)).toHaveLength(4);
    expect(mentioning('encoder.onnx').map((line) => line.msg)).toEqual(['frame encoder session ready']);
  } finally {
    await pipeline.close();
  }
});
