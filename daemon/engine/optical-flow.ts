/**
 * Dense optical flow of small frames: pyramidal Lucas–Kanade on luma, a few warps per level, with a damped solve
 * so flat regions keep the motion around them. A flow field here is a backward map: `flow` [2, h, w] (x then y
 * displacement, in pixels of the frames it was measured on) says frame(p) ≈ reference(p + flow(p)).
 * Pure functions on Float32Arrays; the footage pipeline measures its generated frames' motion with them.
 */

/** A single-channel image [h, w], row-major. */
export interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/** A backward map [2, h, w]: x displacements, then y. */
export interface FlowField {
  width: number;
  height: number;
  data: Float32Array;
}

export interface FlowOptions {
  /** Pyramid levels, each half the size of the one above (stops before a side falls under 8 px). */
  levels: number;
  /** Warp-and-solve iterations at each level. */
  iterations: number;
  /** Half the side of the window the normal equations sum over. */
  radius: number;
  /** Damping added to the window's structure tensor, per pixel of the window (luma levels²): flat or one-edged
   * windows move little on their own and follow the smoothing around them instead. */
  damping: number;
  /** 3×3 mean passes over both frames first: a model's frame is softer than the footage it is compared with, and
   * brightness constancy between a soft and a sharp picture finds motion that is not there. */
  presmooth: number;
}

export const DEFAULT_FLOW_OPTIONS: FlowOptions = { levels: 3, iterations: 6, radius: 2, damping: 8, presmooth: 2 };

function smoothPlane(plane: Plane, passes: number): Plane {
  if (passes === 0) return plane;
  const { width, height } = plane;
  let data = plane.data;
  const tmp = new Float32Array(data.length);
  for (let i = 0; i < passes; i++) {
    const out = new Float32Array(data.length);
    boxSum(data, width, height, 1, out, tmp);
    for (let p = 0; p < out.length; p++) out[p] = out[p]! / 9;
    data = out;
  }
  return { width, height, data };
}

/** Luma (Rec. 601, levels 0–255) of packed RGB bytes [h, w, 3]. */
export function lumaOfRgb(rgb: Uint8Array, width: number, height: number): Plane {
  const data = new Float32Array(width * height);
  for (let p = 0; p < data.length; p++) data[p] = 0.299 * rgb[p * 3]! + 0.587 * rgb[p * 3 + 1]! + 0.114 * rgb[p * 3 + 2]!;
  return { width, height, data };
}

export function zeroFlow(width: number, height: number): FlowField {
  return { width, height, data: new Float32Array(2 * width * height) };
}

/** Bilinear sample of a plane at (x, y), clamped to the border. */
export function sampleBilinear(data: Float32Array, width: number, height: number, x: number, y: number): number {
  const cx = x < 0 ? 0 : x > width - 1 ? width - 1 : x;
  const cy = y < 0 ? 0 : y > height - 1 ? height - 1 : y;
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = x0 + 1 < width ? x0 + 1 : x0;
  const y1 = y0 + 1 < height ? y0 + 1 : y0;
  const fx = cx - x0;
  const fy = cy - y0;
  const top = data[y0 * width + x0]! * (1 - fx) + data[y0 * width + x1]! * fx;
  const bottom = data[y1 * width + x0]! * (1 - fx) + data[y1 * width + x1]! * fx;
  return top * (1 - fy) + bottom * fy;
}

function halve(plane: Plane): Plane {
  const width = Math.floor(plane.width / 2);
  const height = Math.floor(plane.height / 2);
  const data = new Float32Array(width * height);
  const src = plane.data;
  const w = plane.width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 2 * y * w + 2 * x;
      data[y * width + x] = (src[i]! + src[i + 1]! + src[i + w]! + src[i + w + 1]!) / 4;
    }
  }
  return { width, height, data };
}

/** A flow field resampled to another size, its displacements scaled with it. */
export function resizeFlow(flow: FlowField, width: number, height: number): FlowField {
  const out = zeroFlow(width, height);
  const sx = flow.width / width;
  const sy = flow.height / height;
  const plane = flow.width * flow.height;
  const dx = flow.data.subarray(0, plane);
  const dy = flow.data.subarray(plane);
  for (let y = 0; y < height; y++) {
    const fy = (y + 0.5) * sy - 0.5;
    for (let x = 0; x < width; x++) {
      const fx = (x + 0.5) * sx - 0.5;
      out.data[y * width + x] = sampleBilinear(dx, flow.width, flow.height, fx, fy) / sx;
      out.data[width * height + y * width + x] = sampleBilinear(dy, flow.width, flow.height, fx, fy) / sy;
    }
  }
  return out;
}

/** Box sums over (2r+1)² windows, clamped at the border (separable: rows, then columns). */
function boxSum(src: Float32Array, width: number, height: number, r: number, out: Float32Array, tmp: Float32Array): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += src[y * width + Math.min(width - 1, Math.max(0, x + k))]!;
      tmp[y * width + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[Math.min(height - 1, Math.max(0, y + k)) * width + x]!;
      out[y * width + x] = s;
    }
  }
}

/** 3×3 mean of each displacement plane: neighbouring pixels of one object move together. */
function smoothFlow(flow: FlowField): void {
  const { width, height } = flow;
  const plane = width * height;
  const tmp = new Float32Array(plane);
  const out = new Float32Array(plane);
  for (let c = 0; c < 2; c++) {
    const channel = flow.data.subarray(c * plane, (c + 1) * plane);
    boxSum(channel, width, height, 1, out, tmp);
    for (let p = 0; p < plane; p++) channel[p] = out[p]! / 9;
  }
}

/**
 * The backward map from `frame` to `reference` (frame(p) ≈ reference(p + flow(p))), both the same size.
 * `initial`, when given, is a guess at that map (the previous frame's, when following motion frame by frame):
 * the pyramid starts from it, so motion larger than the pyramid reaches on its own is still found.
 */
export function estimateFlow(reference: Plane, frame: Plane, options: FlowOptions = DEFAULT_FLOW_OPTIONS, initial?: FlowField): FlowField {
  const pyramidRef = [smoothPlane(reference, options.presmooth)];
  const pyramidCur = [smoothPlane(frame, options.presmooth)];
  while (pyramidRef.length < options.levels && Math.min(pyramidRef.at(-1)!.width, pyramidRef.at(-1)!.height) >= 16) {
    pyramidRef.push(halve(pyramidRef.at(-1)!));
    pyramidCur.push(halve(pyramidCur.at(-1)!));
  }
  const top = pyramidRef.length - 1;
  let flow = initial ? resizeFlow(initial, pyramidRef[top]!.width, pyramidRef[top]!.height) : zeroFlow(pyramidRef[top]!.width, pyramidRef[top]!.height);
  for (let level = top; level >= 0; level--) {
    const ref = pyramidRef[level]!;
    const cur = pyramidCur[level]!;
    if (flow.width !== ref.width || flow.height !== ref.height) flow = resizeFlow(flow, ref.width, ref.height);
    refine(ref, cur, flow, options);
  }
  return flow;
}

/** Lucas–Kanade iterations at one level, in place: warp the reference by the flow, solve the damped 2×2 system
 * for the update in each window, add it. */
function refine(ref: Plane, cur: Plane, flow: FlowField, options: FlowOptions): void {
  const { width, height } = ref;
  const n = width * height;
  const warped = new Float32Array(n);
  const gx = new Float32Array(n);
  const gy = new Float32Array(n);
  const products = Array.from({ length: 5 }, () => new Float32Array(n));
  const sums = Array.from({ length: 5 }, () => new Float32Array(n));
  const tmp = new Float32Array(n);
  const dx = flow.data.subarray(0, n);
  const dy = flow.data.subarray(n);
  const window = (2 * options.radius + 1) ** 2;
  const damping = options.damping * window;
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        warped[p] = sampleBilinear(ref.data, width, height, x + dx[p]!, y + dy[p]!);
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        gx[p] = (warped[y * width + Math.min(width - 1, x + 1)]! - warped[y * width + Math.max(0, x - 1)]!) / 2;
        gy[p] = (warped[Math.min(height - 1, y + 1) * width + x]! - warped[Math.max(0, y - 1) * width + x]!) / 2;
        const e = cur.data[p]! - warped[p]!;
        products[0]![p] = gx[p]! * gx[p]!;
        products[1]![p] = gx[p]! * gy[p]!;
        products[2]![p] = gy[p]! * gy[p]!;
        products[3]![p] = gx[p]! * e;
        products[4]![p] = gy[p]! * e;
      }
    }
    for (let k = 0; k < 5; k++) boxSum(products[k]!, width, height, options.radius, sums[k]!, tmp);
    for (let p = 0; p < n; p++) {
      const a = sums[0]![p]! + damping;
      const b = sums[1]![p]!;
      const c = sums[2]![p]! + damping;
      const det = a * c - b * b;
      // warped + g·δ ≈ cur: δ solves the window's normal equations; steps are capped so one bad window cannot fling a pixel.
      const ux = (c * sums[3]![p]! - b * sums[4]![p]!) / det;
      const uy = (a * sums[4]![p]! - b * sums[3]![p]!) / det;
      dx[p] = dx[p]! + Math.max(-2, Math.min(2, ux));
      dy[p] = dy[p]! + Math.max(-2, Math.min(2, uy));
    }
    smoothFlow(flow);
  }
}

/** The backward map of two steps: frame → middle (`first`) and middle → reference (`second`), composed into frame
 * → reference: p + first(p) lands in the middle frame, and the second map is read there. */
export function composeFlow(first: FlowField, second: FlowField): FlowField {
  const { width, height } = first;
  const n = width * height;
  const out = zeroFlow(width, height);
  const sx = second.data.subarray(0, n);
  const sy = second.data.subarray(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const mx = x + first.data[p]!;
      const my = y + first.data[n + p]!;
      out.data[p] = first.data[p]! + sampleBilinear(sx, width, height, mx, my);
      out.data[n + p] = first.data[n + p]! + sampleBilinear(sy, width, height, mx, my);
    }
  }
  return out;
}
