/**
 * How well a package reads the footage it is given: its reference frames encoded by its encoder and drawn back by its
 * decoder, compared with the frames read. A package that cannot draw back what it read (the ShapesWorld scene parser
 * given camera footage) continues its own reading, not the footage.
 */

/** A frame size in pixels. */
export interface FrameSize {
  width: number;
  height: number;
}

/** One reading compared, over all the reference frames a job read. */
export interface ReadBack {
  /** Reference frames compared. */
  frames: number;
  /** Mean absolute difference per channel, in 8-bit levels (0–255), at the package's native size. */
  meanAbsError: number;
  /**
   * The share of the frames' own variation the drawing misses: squared error over squared deviation from each
   * frame's mean colour (1 − R²), at the native size. 0 is a perfect reading; a flat colour of the frame's mean is 1.
   */
  unexplained: number;
}

/** Sums of one frame's comparison, added up over frames before they are turned into a ReadBack. */
interface Sums {
  absError: number;
  squaredError: number;
  squaredDeviation: number;
  values: number;
}

/**
 * Box-averages a planar [3, k·h, k·w] frame of model values in [-1, 1] (or packed RGB bytes [k·h, k·w, 3] when
 * `packed`) to planar [3, h, w] 8-bit levels. The encoder and decoder sizes are whole multiples of the native size
 * (models/PACKAGE.md), so both sides are compared there.
 */
function toNativeLevels(frame: Float32Array | Uint8Array, size: FrameSize, native: FrameSize, packed: boolean): Float32Array {
  const k = size.width / native.width;
  const pixels = size.width * size.height;
  const out = new Float32Array(3 * native.width * native.height);
  const perCell = 1 / (k * k);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size.height; y++) {
      const row = Math.floor(y / k) * native.width;
      for (let x = 0; x < size.width; x++) {
        const v = packed ? frame[(y * size.width + x) * 3 + c]! : (frame[c * pixels + y * size.width + x]! + 1) * 127.5;
        out[c * native.width * native.height + row + Math.floor(x / k)] += v * perCell;
      }
    }
  }
  return out;
}

function compareFrame(read: Uint8Array, readSize: FrameSize, drawn: Float32Array, drawnSize: FrameSize, native: FrameSize): Sums {
  const a = toNativeLevels(read, readSize, native, true);
  const b = toNativeLevels(drawn, drawnSize, native, false);
  const plane = native.width * native.height;
  const sums: Sums = { absError: 0, squaredError: 0, squaredDeviation: 0, values: a.length };
  for (let c = 0; c < 3; c++) {
    let mean = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) mean += a[i]!;
    mean /= plane;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const drawnLevel = Math.min(255, Math.max(0, b[i]!));
      const error = a[i]! - drawnLevel;
      sums.absError += Math.abs(error);
      sums.squaredError += error * error;
      sums.squaredDeviation += (a[i]! - mean) ** 2;
    }
  }
  return sums;
}

/**
 * Compares reference frames as read (packed RGB bytes at `readSize`) with the decoder's drawing of their codes
 * (planar model values at `drawnSize`), both taken to the native size.
 */
export function measureReadBack(read: Uint8Array[], readSize: FrameSize, drawn: Float32Array[], drawnSize: FrameSize, native: FrameSize): ReadBack {
  const total: Sums = { absError: 0, squaredError: 0, squaredDeviation: 0, values: 0 };
  read.forEach((frame, i) => {
    const sums = compareFrame(frame, readSize, drawn[i]!, drawnSize, native);
    for (const key of Object.keys(total) as (keyof Sums)[]) total[key] += sums[key];
  });
  return {
    frames: read.length,
    meanAbsError: total.values ? total.absError / total.values : 0,
    // A frame of one flat colour has no variation to explain: any error there counts in full.
    unexplained: total.squaredDeviation > 0 ? total.squaredError / total.squaredDeviation : total.squaredError > 0 ? 1 : 0,
  };
}
