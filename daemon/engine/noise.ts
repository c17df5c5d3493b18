/**
 * Seeded noise, so the same seed gives the same frames on every machine and provider: mulberry32 (a 32-bit
 * generator by Tommy Ettinger, period 2^32, enough for a clip's few million draws) for uniforms, Box–Muller for
 * normals. The seed is any integer in [0, 2^32).
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with standard normal draws (Box–Muller, both outputs of each pair used) and returns it. */
export function fillGaussian(out: Float32Array, random: () => number): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random())); // 1 − u ∈ (0, 1]: never log(0)
    const angle = 2 * Math.PI * random();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
