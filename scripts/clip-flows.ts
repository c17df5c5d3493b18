/**
 * Flows of a clip for motion-latent training (daemon/engine/clip-flows.ts): reads raw rgb24 frames of width × height
 * on stdin (ffmpeg -f rawvideo -pix_fmt rgb24, scaled with the area filter to twice the model's grid), writes each
 * frame's backward and forward flows at half that size on stdout (header line of JSON, then float32 data).
 * models/footage/flows.py runs it; `npm run build` bundles it as dist/clip-flows.cjs.
 *
 *   ffmpeg -v error -i clip.mp4 -vf scale=128:96:flags=area -f rawvideo -pix_fmt rgb24 - | node dist/clip-flows.cjs --width 128 --height 96 > clip.flows
 */
import { clipFlows, encodeClipFlows, splitRawFrames } from '../daemon/engine/clip-flows';

function option(args: string[], name: string, fallback?: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (value === undefined || !Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer (usage: --width W --height H [--stride N] < frames.rgb24 > out.flows)`);
  return value;
}

async function main(args: string[]): Promise<void> {
  const width = option(args, 'width');
  const height = option(args, 'height');
  const stride = option(args, 'stride', 1);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const frames = splitRawFrames(Buffer.concat(chunks), width, height);
  process.stdout.write(encodeClipFlows(clipFlows(frames, width, height, stride)));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`clip-flows: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
