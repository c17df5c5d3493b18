import { clipFlows, decodeClipFlows, downsampleFlow, encodeClipFlows, knownRunFlows, splitRawFrames } from './clip-flows';
import { zeroFlow, type FlowField } from './optical-flow';

// Twice a 32x24 grid: small, so the suite stays quick on two cores (jest's sandbox runs typed-array code slowly).
const W = 64;
const H = 48;

/** Packed RGB of a smooth texture moved by (vx, vy) px per frame: frame t at p shows the texture at p − t·v. */
function movingFrames(count: number, vx: number, vy: number): Uint8Array[] {
  return Array.from({ length: count }, (_, t) => {
    const rgb = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const u = x - t * vx;
        const v = y - t * vy;
        const value = 128 + 40 * Math.sin(u / 5.1) * Math.cos(v / 6.3) + 30 * Math.sin((u + 2 * v) / 8.7) + 20 * Math.cos((u - v) / 4.9);
        rgb.fill(Math.round(value), (y * W + x) * 3, (y * W + x) * 3 + 3);
      }
    }
    return rgb;
  });
}

/** Mean displacement over the interior of a flow field (its borders see the texture's edge). */
function meanFlow(flow: FlowField, margin: number): [number, number] {
  const { width, height, data } = flow;
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = margin; y < height - margin; y++) {
    for (let x = margin; x < width - margin; x++) {
      sx += data[y * width + x]!;
      sy += data[width * height + y * width + x]!;
      n++;
    }
  }
  return [sx / n, sy / n];
}

describe('clip flows (the motion latent’s flow channels)', () => {
  test('a translating texture: backward flow −v, forward +v, in pixels of the half-size grid', () => {
    // 1.4 px a frame right and 0.6 up at 64x48: 0.7 and −0.3 px of the 32x24 grid.
    const flows = clipFlows(movingFrames(4, 1.4, -0.6), W, H);
    expect([flows.width, flows.height, flows.stride]).toEqual([32, 24, 1]);
    expect(meanFlow(flows.backward[0]!, 0)).toEqual([0, 0]); // no frame before the first
    expect(meanFlow(flows.forward[3]!, 0)).toEqual([0, 0]);
    for (const t of [1, 2, 3]) {
      const [bx, by] = meanFlow(flows.backward[t]!, 4);
      expect(Math.abs(bx + 0.7)).toBeLessThan(0.05);
      expect(Math.abs(by - 0.3)).toBeLessThan(0.05);
    }
    for (const t of [0, 1, 2]) {
      const [fx, fy] = meanFlow(flows.forward[t]!, 4);
      expect(Math.abs(fx - 0.7)).toBeLessThan(0.05);
      expect(Math.abs(fy + 0.3)).toBeLessThan(0.05);
    }
  });

  test('a stride measures between frames that far apart', () => {
    const flows = clipFlows(movingFrames(5, 1.4, -0.6), W, H, 2);
    expect(meanFlow(flows.backward[1]!, 0)).toEqual([0, 0]);
    const [bx, by] = meanFlow(flows.backward[3]!, 4);
    expect(Math.abs(bx + 1.4)).toBeLessThan(0.08);
    expect(Math.abs(by - 0.6)).toBeLessThan(0.08);
  });

  test("a run of known frames: each its flow to the one before, the first the second's, a lone frame none", () => {
    const frames = movingFrames(3, 1.4, -0.6);
    const run = knownRunFlows(frames, W, H);
    const measured = clipFlows(frames, W, H).backward;
    expect(run[0]!.data).toEqual(measured[1]!.data);
    expect(run[1]!.data).toEqual(measured[1]!.data);
    expect(run[2]!.data).toEqual(measured[2]!.data);
    const [lone] = knownRunFlows(frames.slice(0, 1), W, H);
    expect([lone!.width, lone!.height, Math.max(...lone!.data.map(Math.abs))]).toEqual([32, 24, 0]);
  });

  test('downsampling averages blocks and rescales displacements', () => {
    const flow = zeroFlow(4, 2);
    flow.data.set([2, 4, 0, 0, 2, 4, 0, 0]); // x: left block mean 3, right 0
    flow.data.fill(-2, 8); // y: all −2
    const half = downsampleFlow(flow, 2);
    expect([half.width, half.height]).toEqual([2, 1]);
    expect(Array.from(half.data)).toEqual([1.5, 0, -1, -1]);
    expect(() => downsampleFlow(zeroFlow(5, 2), 2)).toThrow('not a multiple of 2');
  });

  test('the file keeps every field; raw input must be whole frames', () => {
    const frames = movingFrames(3, 1, 0);
    const raw = new Uint8Array(Buffer.concat(frames));
    expect(splitRawFrames(raw, W, H)).toHaveLength(3);
    expect(() => splitRawFrames(raw.subarray(1), W, H)).toThrow('not a whole number of 64x48 rgb24 frames');
    const flows = clipFlows(frames, W, H);
    const back = decodeClipFlows(encodeClipFlows(flows));
    expect([back.width, back.height, back.stride, back.backward.length]).toEqual([32, 24, 1, 3]);
    expect(back.backward[2]!.data).toEqual(flows.backward[2]!.data);
    expect(back.forward[0]!.data).toEqual(flows.forward[0]!.data);
  });
});
