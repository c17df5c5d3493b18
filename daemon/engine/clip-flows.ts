/**
 * The per-frame motion of a clip as a motion-latent footage model sees it: for each frame, its backward flow (where
 * each pixel of frame t was in frame t − stride) and its forward flow (where it will be in frame t + stride), measured
 * by estimateFlow (optical-flow.ts, the engine's own options) at twice the model's grid and area-averaged down to it,
 * in pixels of that grid. Training (models/footage/flows.py, through scripts/clip-flows.ts) and the engine measure
 * known frames' motion with these same functions, so the model is trained on the flows it is given.
 */
import { DEFAULT_FLOW_OPTIONS, estimateFlow, lumaOfRgb, zeroFlow, type FlowField, type Plane } from './optical-flow';

/** Flows are measured at this many times the grid they are stored on: sub-pixel motion of the small grid is whole
 * pixels there, where Lucas–Kanade has texture to see it. */
export const FLOW_MEASURE_FACTOR = 2;

export interface ClipFlows {
  /** The grid the flows are stored on (the measured frames' size / FLOW_MEASURE_FACTOR). */
  width: number;
  height: number;
  stride: number;
  /** Per frame; the first `stride` frames' backward flows and the last `stride` frames' forward flows are zero
   * (no frame to measure against). */
  backward: FlowField[];
  forward: FlowField[];
}

/** A flow field averaged over factor × factor blocks, its displacements divided by factor (pixels of the smaller grid). */
export function downsampleFlow(flow: FlowField, factor: number): FlowField {
  if (flow.width % factor || flow.height % factor) throw new Error(`downsampleFlow: ${flow.width}x${flow.height} is not a multiple of ${factor}`);
  const width = flow.width / factor;
  const height = flow.height / factor;
  const out = zeroFlow(width, height);
  const planeIn = flow.width * flow.height;
  const planeOut = width * height;
  const scale = 1 / (factor * factor * factor);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let yy = 0; yy < factor; yy++) {
          for (let xx = 0; xx < factor; xx++) s += flow.data[c * planeIn + (y * factor + yy) * flow.width + x * factor + xx]!;
        }
        out.data[c * planeOut + y * width + x] = s * scale;
      }
    }
  }
  return out;
}

/** Backward and forward flows of frames (packed RGB, width × height, each side a multiple of FLOW_MEASURE_FACTOR),
 * stored at width / FLOW_MEASURE_FACTOR. Each pair is measured on its own, from zero: starting from the neighbouring
 * pair's estimate (as motion-transfer.ts follows motion) carries that estimate's errors in flat regions on, where the
 * damped solve keeps what it starts from (on camera moves over photographs: mean error 0.37 px of the small grid
 * with it, 0.12 without, on a high-contrast picture moving 0.07 px a frame; the same elsewhere). */
export function clipFlows(frames: Uint8Array[], width: number, height: number, stride = 1): ClipFlows {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`clipFlows: stride must be a positive integer, got ${stride}`);
  const lumas: Plane[] = frames.map((rgb) => lumaOfRgb(rgb, width, height));
  const w = width / FLOW_MEASURE_FACTOR;
  const h = height / FLOW_MEASURE_FACTOR;
  const flowTo = (t: number, other: number): FlowField => (other < 0 || other >= lumas.length ? zeroFlow(w, h) : measureFlow(lumas[other]!, lumas[t]!));
  return {
    width: w,
    height: h,
    stride,
    backward: lumas.map((_, t) => flowTo(t, t - stride)),
    forward: lumas.map((_, t) => flowTo(t, t + stride)),
  };
}

/** frame's backward map to reference (luma at FLOW_MEASURE_FACTOR × the grid), averaged down to the grid. */
function measureFlow(reference: Plane, frame: Plane): FlowField {
  return downsampleFlow(estimateFlow(reference, frame, DEFAULT_FLOW_OPTIONS), FLOW_MEASURE_FACTOR);
}

/** The flow channels of a run of consecutive known frames (packed RGB at FLOW_MEASURE_FACTOR × the grid), as training
 * gives them (models/footage/flows.py known_flows): each frame's backward flow to the frame before it, the first
 * frame the second's (the frame before it is not known), a lone frame none. */
export function knownRunFlows(frames: Uint8Array[], width: number, height: number): FlowField[] {
  const lumas = frames.map((rgb) => lumaOfRgb(rgb, width, height));
  const flows = lumas.map((luma, t) => (t === 0 ? null : measureFlow(lumas[t - 1]!, luma)));
  return flows.map((flow, t) => (t > 0 ? flow! : (flows[1] ?? zeroFlow(width / FLOW_MEASURE_FACTOR, height / FLOW_MEASURE_FACTOR))));
}

/** The file scripts/clip-flows.ts writes: one line of JSON, then float32 in the machine's byte order (little-endian
 * on every platform Node ships for) [frames][backward, forward][x, y][h][w]. */
export const CLIP_FLOWS_FORMAT = 'longshot-clip-flows/1';

export function encodeClipFlows(flows: ClipFlows): Buffer {
  const header = JSON.stringify({
    format: CLIP_FLOWS_FORMAT,
    frames: flows.backward.length,
    width: flows.width,
    height: flows.height,
    stride: flows.stride,
    dtype: 'float32',
    layout: '[frames][backward, forward][x, y][height][width]',
    units: 'pixels of the width x height grid',
  });
  const plane = 2 * flows.width * flows.height;
  const data = new Float32Array(flows.backward.length * 2 * plane);
  flows.backward.forEach((b, t) => {
    data.set(b.data, 2 * t * plane);
    data.set(flows.forward[t]!.data, (2 * t + 1) * plane);
  });
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([Buffer.from(`${header}\n`), body]);
}

export function decodeClipFlows(file: Buffer): ClipFlows {
  const newline = file.indexOf(10);
  const header = JSON.parse(file.subarray(0, newline).toString('utf8')) as { format: string; frames: number; width: number; height: number; stride: number };
  if (header.format !== CLIP_FLOWS_FORMAT) throw new Error(`clip flows: format ${header.format}, expected ${CLIP_FLOWS_FORMAT}`);
  const body = file.subarray(newline + 1);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  const plane = 2 * header.width * header.height;
  const field = (i: number): FlowField => ({ width: header.width, height: header.height, data: data.slice(i * plane, (i + 1) * plane) });
  const frames = Array.from({ length: header.frames }, (_, t) => t);
  return { width: header.width, height: header.height, stride: header.stride, backward: frames.map((t) => field(2 * t)), forward: frames.map((t) => field(2 * t + 1)) };
}

/** Raw rgb24 frames (as `ffmpeg -f rawvideo -pix_fmt rgb24` writes them) split into frames of width × height. */
export function splitRawFrames(raw: Uint8Array, width: number, height: number): Uint8Array[] {
  const bytes = width * height * 3;
  if (raw.length === 0 || raw.length % bytes) throw new Error(`raw frames: ${raw.length} bytes is not a whole number of ${width}x${height} rgb24 frames (${bytes} bytes each)`);
  return Array.from({ length: raw.length / bytes }, (_, t) => raw.subarray(t * bytes, (t + 1) * bytes));
}
