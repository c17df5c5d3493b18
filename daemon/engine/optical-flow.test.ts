import { composeFlow, estimateFlow, resizeFlow, zeroFlow, type FlowField, type Plane } from './optical-flow';

const W = 64;
const H = 48;

/** A smooth texture (a few sinusoids) sampled at (x + dx, y + dy): the same picture moved by (−dx, −dy). */
function texture(dx: number, dy: number): Plane {
  const data = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x + dx;
      const v = y + dy;
      data[y * W + x] = 128 + 40 * Math.sin(u / 3.1) * Math.cos(v / 4.3) + 30 * Math.sin((u + 2 * v) / 5.7) + 20 * Math.cos((u - v) / 2.9);
    }
  }
  return { width: W, height: H, data };
}

/** Mean displacement over the frame's interior (borders see the texture's edge). */
function meanFlow(flow: FlowField): [number, number] {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 8; y < H - 8; y++) {
    for (let x = 8; x < W - 8; x++) {
      sx += flow.data[y * W + x]!;
      sy += flow.data[W * H + y * W + x]!;
      n++;
    }
  }
  return [sx / n, sy / n];
}

describe('optical flow (pyramidal Lucas–Kanade)', () => {
  test('finds a known shift of a texture as the backward map frame(p) = reference(p + flow)', () => {
    const reference = texture(0, 0);
    for (const [dx, dy] of [[1.5, -0.5], [4, 2], [-3, 1]] as const) {
      const [mx, my] = meanFlow(estimateFlow(reference, texture(dx, dy)));
      expect(mx).toBeCloseTo(dx, 0);
      expect(my).toBeCloseTo(dy, 0);
      expect(Math.hypot(mx - dx, my - dy)).toBeLessThan(0.35);
    }
  });

  test('a still frame has (almost) no motion', () => {
    const reference = texture(0, 0);
    const [mx, my] = meanFlow(estimateFlow(reference, texture(0, 0)));
    expect(Math.hypot(mx, my)).toBeLessThan(0.01);
  });

  test('starting from a guess finds motion larger than the pyramid reaches alone', () => {
    const reference = texture(0, 0);
    const moved = texture(14, 0);
    const guess = zeroFlow(W, H);
    guess.data.fill(11, 0, W * H);
    const [withGuess] = meanFlow(estimateFlow(reference, moved, undefined, guess));
    expect(withGuess).toBeCloseTo(14, 0);
  });

  test('composing two steps adds their displacements; resizing scales them', () => {
    const a = zeroFlow(W, H);
    const b = zeroFlow(W, H);
    a.data.fill(1, 0, W * H);
    b.data.fill(2, 0, W * H);
    b.data.fill(-1, W * H);
    expect(meanFlow(composeFlow(a, b))).toEqual([3, -1]);
    const half = resizeFlow(b, W / 2, H / 2);
    expect(half.data[0]).toBeCloseTo(1, 5);
    expect(half.data[(W / 2) * (H / 2)]).toBeCloseTo(-0.5, 5);
  });
});
