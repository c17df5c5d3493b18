import type { RgbFrame } from './types';

const toByte = (v: number) => (v <= -1 ? 0 : v >= 1 ? 255 : Math.round((v + 1) * 127.5));

/** Packed RGB bytes [H, W, 3] → model values [3, H, W] in [-1, 1] (rgb8 / 127.5 − 1). */
export function rgbToModel(rgb: RgbFrame, pixels: number): Float32Array {
  const out = new Float32Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    out[p] = rgb[p * 3]! / 127.5 - 1;
    out[pixels + p] = rgb[p * 3 + 1]! / 127.5 - 1;
    out[2 * pixels + p] = rgb[p * 3 + 2]! / 127.5 - 1;
  }
  return out;
}

/** Model values [3, H, W] → packed RGB bytes [H, W, 3], rounded and clipped. */
export function modelToRgb(planar: Float32Array, pixels: number): RgbFrame {
  const out = new Uint8Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    out[p * 3] = toByte(planar[p]!);
    out[p * 3 + 1] = toByte(planar[pixels + p]!);
    out[p * 3 + 2] = toByte(planar[2 * pixels + p]!);
  }
  return out;
}
