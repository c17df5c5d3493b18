import jpeg from 'jpeg-js';
import { PreviewJpegEncoder } from './preview-jpeg';

/** A frame of model values [3, H, W]: smooth gradients and a hard-edged square, like a ShapesWorld frame. */
function testFrame(width: number, height: number): Float32Array {
  const pixels = width * height;
  const frame = new Float32Array(3 * pixels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const inSquare = x > width / 3 && x < width / 2 && y > height / 4 && y < height / 2;
      frame[p] = inSquare ? 0.9 : x / width - 0.5;
      frame[pixels + p] = inSquare ? -0.8 : y / height - 0.5;
      frame[2 * pixels + p] = inSquare ? -0.9 : 0.2;
    }
  }
  return frame;
}

/** Peak signal-to-noise ratio of the decoded JPEG against the frame, in dB. */
function psnr(frame: Float32Array, decoded: { data: Uint8Array }, pixels: number): number {
  let squares = 0;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const expected = Math.min(255, Math.max(0, (frame[c * pixels + p]! + 1) * 127.5));
      squares += (decoded.data[p * 4 + c]! - expected) ** 2;
    }
  }
  return 10 * Math.log10((255 * 255) / (squares / (3 * pixels)));
}

test.each([
  [32, 16],
  [112, 64],
  [128, 72],
  [13, 7],
])('%ix%i: a valid JPEG that an independent decoder (jpeg-js) reads back close to the frame', (width, height) => {
  const frame = testFrame(width, height);
  const bytes = new PreviewJpegEncoder(70).encode(frame, width, height);
  expect([bytes[0], bytes[1], bytes[bytes.length - 2], bytes[bytes.length - 1]]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
  const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  expect([decoded.width, decoded.height]).toEqual([width, height]);
  // As close as jpeg-js's own encoder at the same quality (both 4:4:4 with the Annex K tables).
  const pixels = width * height;
  const rgba = new Uint8Array(4 * pixels);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < 4; c++) rgba[p * 4 + c] = c === 3 ? 255 : Math.round(Math.min(255, Math.max(0, (frame[c * pixels + p]! + 1) * 127.5)));
  const reference = jpeg.decode(jpeg.encode({ data: rgba, width, height }, 70).data, { useTArray: true });
  expect(psnr(frame, decoded, pixels)).toBeGreaterThan(psnr(frame, reference, pixels) - 1);
  expect(psnr(frame, decoded, pixels)).toBeGreaterThan(24);
});

test('higher quality, closer result and more bytes; the same frame always gives the same bytes', () => {
  const frame = testFrame(64, 32);
  const low = new PreviewJpegEncoder(20).encode(frame, 64, 32);
  const high = new PreviewJpegEncoder(95).encode(frame, 64, 32);
  expect(high.length).toBeGreaterThan(low.length);
  const decode = (b: Uint8Array) => jpeg.decode(b, { useTArray: true });
  expect(psnr(frame, decode(high), 64 * 32)).toBeGreaterThan(psnr(frame, decode(low), 64 * 32));
  const encoder = new PreviewJpegEncoder(70);
  expect(Buffer.from(encoder.encode(frame, 64, 32)).equals(Buffer.from(encoder.encode(frame, 64, 32)))).toBe(true);
});

test('random noise (worst case for entropy coding, with 0xFF bytes to stuff) decodes at the right size', () => {
  let seed = 1;
  const frame = Float32Array.from({ length: 3 * 40 * 24 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);
  const decoded = jpeg.decode(new PreviewJpegEncoder(90).encode(frame, 40, 24), { useTArray: true });
  expect([decoded.width, decoded.height]).toEqual([40, 24]);
  expect(psnr(frame, decoded, 40 * 24)).toBeGreaterThan(15);
});
