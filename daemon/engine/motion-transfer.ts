/**
 * Motion transfer: a footage model generates small frames (its native size, the whole frame whatever its aspect);
 * what reaches the timeline is the footage's own frame at its own size, carried along the motion of those small
 * frames, plus what the motion cannot explain (new content, light) from the small frames themselves. So output
 * frames keep the footage's size, aspect and detail, and move as the model says: nothing is upscaled from the
 * model's size but that smooth remainder.
 *
 * For a generated frame k: the backward map M_k to the anchor before the span (the last known frame; followed
 * frame by frame, each estimate starting from the previous one so large motion is still found) and N_k to the
 * anchor after it (a fill's first known frame); the output is (1 − w)·A(p + M_k(p)) + w·B(p + N_k(p)) plus the
 * small residual g_k − [the same blend drawn small], upsampled and scaled (ResidualOptions); w is 0 or 1 with one
 * anchor, and in a fill starts from k / (n + 1) and leans, pixel by pixel, to the side that matches g_k (blendWeights).
 */
import { composeFlow, DEFAULT_FLOW_OPTIONS, estimateFlow, lumaOfRgb, sampleBilinear, zeroFlow, type FlowField } from './optical-flow';

/** A known frame beside the span, at the footage's size (`full`) and at the model's (`small`), packed RGB. */
export interface AnchorFrame {
  full: Uint8Array;
  small: Uint8Array;
}

export interface MotionTransferInput {
  /** The footage's size: of the anchors' `full` frames and of the output. */
  width: number;
  height: number;
  /** The model's native size: of the generated frames and the anchors' `small` frames. */
  smallWidth: number;
  smallHeight: number;
  /** The model's frames of the span, in time order, packed RGB at the small size. */
  generated: Uint8Array[];
  before: AnchorFrame | null;
  after: AnchorFrame | null;
  /** How the small residual is added (model.json `motion_transfer`); default: all of it, frame by frame. */
  residual?: ResidualOptions;
}

/** The residual is the model's own picture less what the motion explains: new content and light, and also each
 * window's sampling noise, which flickers from frame to frame. `gain` scales it; `smoothing` averages it over that
 * many frames either side, so what stays is what the model keeps drawing. */
export interface ResidualOptions {
  gain: number;
  smoothing: number;
}

/** Packed RGB [h, w, 3] scaled to another size by averaging the source pixels each output pixel covers (an area filter). */
export function areaResize(rgb: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight * 3);
  const sx = width / outWidth;
  const sy = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < outWidth; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      let r = 0;
      let g = 0;
      let b = 0;
      let area = 0;
      for (let yy = Math.floor(y0); yy < Math.min(height, Math.ceil(y1)); yy++) {
        const wy = Math.min(y1, yy + 1) - Math.max(y0, yy);
        for (let xx = Math.floor(x0); xx < Math.min(width, Math.ceil(x1)); xx++) {
          const wgt = wy * (Math.min(x1, xx + 1) - Math.max(x0, xx));
          const i = (yy * width + xx) * 3;
          r += rgb[i]! * wgt;
          g += rgb[i + 1]! * wgt;
          b += rgb[i + 2]! * wgt;
          area += wgt;
        }
      }
      const o = (y * outWidth + x) * 3;
      out[o] = Math.round(r / area);
      out[o + 1] = Math.round(g / area);
      out[o + 2] = Math.round(b / area);
    }
  }
  return out;
}

/** Packed RGB bytes → three float planes [3, h, w]. */
function planes(rgb: Uint8Array, width: number, height: number): Float32Array[] {
  const n = width * height;
  const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c]![p] = rgb[p * 3 + c]!;
  return out;
}

/** Each generated frame's backward map to `anchor`, followed through the frames in `order` (each estimate starts
 * from the one before it). */
function followMotion(anchor: Uint8Array, generated: Uint8Array[], order: number[], width: number, height: number): FlowField[] {
  const reference = lumaOfRgb(anchor, width, height);
  const maps: FlowField[] = new Array(generated.length);
  let previous: FlowField | undefined;
  for (const k of order) {
    previous = estimateFlow(reference, lumaOfRgb(generated[k]!, width, height), DEFAULT_FLOW_OPTIONS, previous);
    maps[k] = previous;
  }
  return smoothInTime(maps);
}

/** Each map averaged with its neighbours in time (1, 2, 1): motion measured on sampled frames jitters a little from
 * frame to frame, which the footage carried along it would show as shake. */
function smoothInTime(maps: FlowField[]): FlowField[] {
  return maps.map((map, k) => {
    const prev = maps[k - 1] ?? map;
    const next = maps[k + 1] ?? map;
    const data = new Float32Array(map.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (prev.data[i]! + 2 * map.data[i]! + next.data[i]!) / 4;
    return { width: map.width, height: map.height, data };
  });
}

/** The output frames at the footage's size (see the file's comment), along the motion measured on the small frames. */
export function transferMotion(input: MotionTransferInput): Uint8Array[] {
  const { smallWidth: w, smallHeight: h, generated, before, after } = input;
  if (!before && !after) throw new Error('motion transfer needs a known frame before or after the span');
  const indexes = generated.map((_, k) => k);
  const mapsBefore = before ? followMotion(before.small, generated, indexes, w, h) : null;
  const mapsAfter = after ? followMotion(after.small, generated, [...indexes].reverse(), w, h) : null;
  return transferAlongMaps(input, mapsBefore, mapsAfter);
}

/** The generated frames' own motion (a motion-latent package, models/PACKAGE.md): `flows[k]` is generated frame k's
 * backward flow (frame k(p) ≈ frame k − 1(p + flow(p)), frame −1 the anchor before), in pixels of the small size. */
export interface GeneratedMotion {
  flows: FlowField[];
  /** In a fill or an extend before the footage: the anchor after the span's backward flow to the last generated
   * frame (the model does not draw it: that anchor is known; the caller measures or assumes it). */
  afterFlow: FlowField | null;
}

/**
 * The output frames at the footage's size, carried along the motion the model generated instead of motion measured
 * on its small frames: to the anchor before, each frame's flow composed with the frame before's map
 * (M_k(p) = f_k(p) + M_{k−1}(p + f_k(p))); to the anchor after, the inverted flows of the frames after it, composed
 * the same way from the anchor back (N_{n−1} = f_after⁻¹, N_k = f_{k+1}⁻¹ then N_{k+1}).
 */
export function transferMotionAlongFlows(input: MotionTransferInput, motion: GeneratedMotion): Uint8Array[] {
  const { generated, before, after } = input;
  if (!before && !after) throw new Error('motion transfer needs a known frame before or after the span');
  if (motion.flows.length !== generated.length) throw new Error(`motion transfer: ${motion.flows.length} flows for ${generated.length} generated frames`);
  const n = generated.length;
  let mapsBefore: FlowField[] | null = null;
  if (before) {
    mapsBefore = [];
    for (let k = 0; k < n; k++) mapsBefore.push(k === 0 ? motion.flows[0]! : composeFlow(motion.flows[k]!, mapsBefore[k - 1]!));
  }
  let mapsAfter: FlowField[] | null = null;
  if (after) {
    if (!motion.afterFlow) throw new Error('motion transfer: an anchor after the span needs its flow to the last generated frame (afterFlow)');
    mapsAfter = new Array<FlowField>(n);
    for (let k = n - 1; k >= 0; k--) {
      const step = invertFlow(k === n - 1 ? motion.afterFlow : motion.flows[k + 1]!);
      mapsAfter[k] = k === n - 1 ? step : composeFlow(step, mapsAfter[k + 1]!);
    }
  }
  return transferAlongMaps(input, mapsBefore, mapsAfter);
}

/** Fixed-point passes inverting a flow: enough for the smooth, sub-pixel to few-pixel flows between neighbouring frames. */
const INVERSE_ITERATIONS = 4;

/** The inverse of a backward flow b of frame t (frame t(p) ≈ frame t − 1(p + b(p))): the map g of frame t − 1 with
 * frame t − 1(q) ≈ frame t(q + g(q)), i.e. q + g(q) + b(q + g(q)) = q, solved by g ← −b(q + g). */
export function invertFlow(flow: FlowField): FlowField {
  const { width, height } = flow;
  const n = width * height;
  const bx = flow.data.subarray(0, n);
  const by = flow.data.subarray(n);
  let inverse = zeroFlow(width, height);
  for (let iteration = 0; iteration < INVERSE_ITERATIONS; iteration++) {
    const next = zeroFlow(width, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        const qx = x + inverse.data[p]!;
        const qy = y + inverse.data[n + p]!;
        next.data[p] = -sampleBilinear(bx, width, height, qx, qy);
        next.data[n + p] = -sampleBilinear(by, width, height, qx, qy);
      }
    }
    inverse = next;
  }
  return inverse;
}

/** The output frames, given each generated frame's backward map to the anchor before and to the anchor after. */
function transferAlongMaps(input: MotionTransferInput, mapsBefore: FlowField[] | null, mapsAfter: FlowField[] | null): Uint8Array[] {
  const { width: W, height: H, smallWidth: w, smallHeight: h, generated, before, after } = input;
  const n = generated.length;
  const smallBefore = before && planes(before.small, w, h);
  const smallAfter = after && planes(after.small, w, h);
  const fullBefore = before && planes(before.full, W, H);
  const fullAfter = after && planes(after.full, W, H);
  const plane = w * h;
  const kx = W / w;
  const ky = H / h;
  const timeWeightAfter = (k: number) => (before && after ? (k + 1) / (n + 1) : after ? 1 : 0);
  // Small, for each frame: both anchors drawn along their maps, the share of the one after in each pixel, and the
  // residual (the model's frame less that blend).
  const drawnSmall = (anchor: Float32Array[] | null, map: FlowField | undefined): Float32Array[] | null => {
    if (!anchor || !map) return null;
    return anchor.map((channel) => {
      const out = new Float32Array(plane);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = sampleBilinear(channel, w, h, x + map.data[y * w + x]!, y + map.data[plane + y * w + x]!);
      return out;
    });
  };
  const weightsAfter: Float32Array[] = [];
  const residuals = generated.map((frame, k) => {
    const fromBefore = drawnSmall(smallBefore, mapsBefore?.[k]);
    const fromAfter = drawnSmall(smallAfter, mapsAfter?.[k]);
    const weight = blendWeights(frame, fromBefore, fromAfter, timeWeightAfter(k), w, h);
    weightsAfter.push(weight);
    const residual = [new Float32Array(plane), new Float32Array(plane), new Float32Array(plane)];
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const drawn = (fromBefore ? (1 - weight[p]!) * fromBefore[c]![p]! : 0) + (fromAfter ? weight[p]! * fromAfter[c]![p]! : 0);
        residual[c]![p] = frame[p * 3 + c]! - drawn;
      }
    }
    return residual;
  });
  const { gain, smoothing } = input.residual ?? { gain: 1, smoothing: 0 };
  const smoothed = residuals.map((_, k) => {
    const from = Math.max(0, k - smoothing);
    const to = Math.min(n - 1, k + smoothing);
    return [0, 1, 2].map((c) => {
      const out = new Float32Array(plane);
      for (let j = from; j <= to; j++) for (let p = 0; p < plane; p++) out[p] = out[p]! + residuals[j]![c]![p]!;
      for (let p = 0; p < plane; p++) out[p] = (out[p]! * gain) / (to - from + 1);
      return out;
    });
  });
  return generated.map((_, k) => {
    const weightMap = weightsAfter[k]!;
    const mapA = mapsBefore?.[k];
    const mapB = mapsAfter?.[k];
    const residual = smoothed[k]!;
    const out = new Uint8Array(W * H * 3);
    for (let Y = 0; Y < H; Y++) {
      const sy = (Y + 0.5) / ky - 0.5;
      for (let X = 0; X < W; X++) {
        const sx = (X + 0.5) / kx - 0.5;
        const o = (Y * W + X) * 3;
        const rgb = [0, 0, 0];
        const weightAfter = sampleBilinear(weightMap, w, h, sx, sy);
        if (mapA) {
          const fx = X + sampleBilinear(mapA.data, w, h, sx, sy) * kx;
          const fy = Y + sampleBilinear(mapA.data.subarray(plane), w, h, sx, sy) * ky;
          for (let c = 0; c < 3; c++) rgb[c]! += (1 - weightAfter) * sampleBilinear(fullBefore![c]!, W, H, fx, fy);
        }
        if (mapB) {
          const fx = X + sampleBilinear(mapB.data, w, h, sx, sy) * kx;
          const fy = Y + sampleBilinear(mapB.data.subarray(plane), w, h, sx, sy) * ky;
          for (let c = 0; c < 3; c++) rgb[c]! += weightAfter * sampleBilinear(fullAfter![c]!, W, H, fx, fy);
        }
        for (let c = 0; c < 3; c++) {
          const v = rgb[c]! + sampleBilinear(residual[c]!, w, h, sx, sy);
          out[o + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
        }
      }
    }
    return out;
  });
}

/** How far apart the two sides' drawings may be (mean of |difference| over RGB, levels) before the one nearer the
 * model's frame takes a pixel over: below it, the blend follows time alone. */
const BLEND_SOFTNESS = 8;

/**
 * The share of the anchor after the span in each small pixel. With one anchor it is 0 or 1. In a fill it starts from
 * time (k + 1) / (n + 1) and leans to the side whose drawing matches the model's frame there, each side weighted by
 * exp(−error / softness): where the two sides disagree (something moved in or out) the frame shows one of them, not
 * a ghost of both, and where they agree it fades with time.
 */
function blendWeights(frame: Uint8Array, fromBefore: Float32Array[] | null, fromAfter: Float32Array[] | null, timeWeight: number, w: number, h: number): Float32Array {
  const plane = w * h;
  const out = new Float32Array(plane).fill(fromAfter ? (fromBefore ? timeWeight : 1) : 0);
  if (!fromBefore || !fromAfter) return out;
  const error = (drawn: Float32Array[]) => {
    const e = new Float32Array(plane);
    for (let p = 0; p < plane; p++) e[p] = (Math.abs(frame[p * 3]! - drawn[0]![p]!) + Math.abs(frame[p * 3 + 1]! - drawn[1]![p]!) + Math.abs(frame[p * 3 + 2]! - drawn[2]![p]!)) / 3;
    return e;
  };
  const errorBefore = error(fromBefore);
  const errorAfter = error(fromAfter);
  for (let p = 0; p < plane; p++) {
    const a = (1 - timeWeight) * Math.exp(-errorBefore[p]! / BLEND_SOFTNESS);
    const b = timeWeight * Math.exp(-errorAfter[p]! / BLEND_SOFTNESS);
    out[p] = a + b > 0 ? b / (a + b) : timeWeight;
  }
  return out;
}
