import { isKnownSlot, planWindows, type WindowPlan, type WindowPlanInput, type WindowSlot } from './conditioning';

/** A slot's place on the clip's timeline: `before` frames are negative, output frames 0..N−1, `after` from N. */
function timeOf(slot: WindowSlot, input: WindowPlanInput): number | null {
  if (slot.kind === 'before') return slot.index - input.beforeCount;
  if (slot.kind === 'after') return input.frameCount + slot.index;
  if (slot.kind === 'spare') return null;
  return slot.frame;
}

const short = (slot: WindowSlot) => (slot.kind === 'spare' ? 's' : slot.kind === 'before' ? `b${slot.index}` : slot.kind === 'after' ? `a${slot.index}` : slot.kind === 'known' ? `k${slot.frame}` : `g${slot.frame}`);
const render = (plan: WindowPlan[]) => plan.map((w) => w.slots.map(short).join(' '));

/** Checks every rule a plan must keep (returns the broken ones) and whether each window's known mask is a trained one. */
function checkPlan(input: WindowPlanInput, plan: WindowPlan[]): { problems: string[]; trainedMasks: boolean } {
  const { frameCount: N, framesPerWindow: F, contextFrames: K } = input;
  const generatedBy = new Map<number, number>();
  const problems: string[] = [];
  let trainedMasks = true;
  plan.forEach((window, w) => {
    if (window.slots.length !== F) problems.push(`window ${w} has ${window.slots.length} slots`);
    // Non-spare slots are consecutive frames of the timeline, in order.
    const times = window.slots.map((s) => timeOf(s, input)).filter((t): t is number => t !== null);
    for (let i = 1; i < times.length; i++) if (times[i] !== times[i - 1]! + 1) problems.push(`window ${w} is not contiguous at ${i}`);
    for (const slot of window.slots) {
      if (slot.kind === 'before' && (slot.index < input.beforeCount - K || slot.index >= input.beforeCount)) problems.push(`window ${w}: before ${slot.index}`);
      if (slot.kind === 'after' && slot.index >= Math.min(K, input.afterCount)) problems.push(`window ${w}: after ${slot.index}`);
      if (slot.kind === 'known' && !((generatedBy.get(slot.frame) ?? w) < w)) problems.push(`window ${w}: frame ${slot.frame} known before it is generated`);
    }
    for (const slot of window.slots) {
      if (slot.kind !== 'generate') continue;
      if (generatedBy.has(slot.frame)) problems.push(`frame ${slot.frame} generated twice`);
      generatedBy.set(slot.frame, w);
    }
    // Trained masks: known frames only as a head block and/or a tail block of at most K frames each.
    const known = window.slots.map(isKnownSlot);
    const head = known.indexOf(false) < 0 ? F : known.indexOf(false);
    const tail = known.lastIndexOf(false) < 0 ? F : F - 1 - known.lastIndexOf(false);
    if (known.slice(head, F - tail).some(Boolean) || head > K || tail > K) trainedMasks = false;
  });
  for (let f = 0; f < N; f++) if (!generatedBy.has(f)) problems.push(`frame ${f} never generated`);
  if (generatedBy.size !== N) problems.push(`${generatedBy.size} frames generated, ${N} asked`);
  return { problems, trainedMasks };
}

describe('every plan generates each frame exactly once, in trained masks, over many cases', () => {
  const counts = [1, 2, 3, 7, 8, 9, 11, 12, 13, 15, 16, 17, 24, 31, 48, 105, 3600];
  const sides: [number, number][] = [[0, 0], [4, 0], [2, 0], [0, 4], [0, 1], [4, 4], [1, 3], [9, 9]];
  for (const [F, K] of [[16, 4], [8, 2], [16, 1], [8, 4]] as const) {
    test.each(sides)(`F=${F} K=${K}, before %i, after %i`, (beforeCount, afterCount) => {
      for (const frameCount of counts) {
        const input = { frameCount, framesPerWindow: F, contextFrames: K, beforeCount, afterCount };
        const plan = planWindows(input);
        const { problems, trainedMasks } = checkPlan(input, plan);
        expect(problems).toEqual([]);
        const kb = Math.min(K, beforeCount);
        const ka = Math.min(K, afterCount);
        // Only a fill shorter than one window leaves the trained masks.
        expect(trainedMasks).toBe(!(kb > 0 && ka > 0 && kb + frameCount + ka < F));
        // Spare slots never cost more than one window's worth per two windows.
        expect(plan.length).toBeLessThanOrEqual(Math.ceil(frameCount / Math.max(1, F - 2 * K)) + 2);
        if (kb > 0) expect(plan[0]!.slots[0]!.kind).toBe('before');
        if (ka > 0) {
          // The window that sees `after` sees all of its first ka frames at its tail (or just before spare slots).
          const withAfter = plan.filter((w) => w.slots.some((s) => s.kind === 'after'));
          expect(withAfter).toHaveLength(1);
          expect(withAfter[0]!.slots.filter((s) => s.kind === 'after')).toHaveLength(ka);
          // extend-head runs backwards from `after`; fill ends with it.
          expect(plan.indexOf(withAfter[0]!)).toBe(kb > 0 ? plan.length - 1 : 0);
        }
      }
    });
  }
});

describe('plans, written out (F=8, K=2)', () => {
  const plan = (frameCount: number, beforeCount: number, afterCount: number) => render(planWindows({ frameCount, framesPerWindow: 8, contextFrames: 2, beforeCount, afterCount }));

  test('B-roll of 1 frame: one window, the rest spare', () => {
    expect(plan(1, 0, 0)).toEqual(['g0 s s s s s s s']);
  });
  test('B-roll of exactly one window', () => {
    expect(plan(8, 0, 0)).toEqual(['g0 g1 g2 g3 g4 g5 g6 g7']);
  });
  test('long B-roll: each window conditioned on the previous window\'s last K frames', () => {
    expect(plan(15, 0, 0)).toEqual(['g0 g1 g2 g3 g4 g5 g6 g7', 'k6 k7 g8 g9 g10 g11 g12 g13', 'k12 k13 g14 s s s s s']);
  });
  test('extend uses the last K of `before`', () => {
    expect(plan(7, 5, 0)).toEqual(['b3 b4 g0 g1 g2 g3 g4 g5', 'k4 k5 g6 s s s s s']);
  });
  test('extend with one reference frame, then K from a mix of reference and generated frames', () => {
    expect(plan(9, 1, 0)).toEqual(['b0 g0 g1 g2 g3 g4 g5 g6', 'k5 k6 g7 g8 s s s s']);
  });
  test('extend-head runs backwards from `after` (mask "last k"), spare slots at the head of the earliest window', () => {
    expect(plan(9, 0, 3)).toEqual(['g3 g4 g5 g6 g7 g8 a0 a1', 's s s g0 g1 g2 k3 k4']);
  });
  test('fill shorter than one window: both sides in one window, spare slots after `after` (outside training)', () => {
    expect(plan(2, 2, 2)).toEqual(['b0 b1 g0 g1 a0 a1 s s']);
  });
  test('fill of exactly one window: mask first K + last K', () => {
    expect(plan(4, 2, 2)).toEqual(['b0 b1 g0 g1 g2 g3 a0 a1']);
  });
  test('long fill: earlier windows stop early so the last is full and sees both its predecessor and `after`', () => {
    expect(plan(10, 2, 2)).toEqual(['b0 b1 g0 g1 g2 g3 g4 g5', 'k4 k5 g6 g7 g8 g9 a0 a1']);
    expect(plan(7, 2, 2)).toEqual(['b0 b1 g0 g1 g2 s s s', 'k1 k2 g3 g4 g5 g6 a0 a1']);
  });
});

test('3.5 s at 29.97 fps = 105 frames, 60 s at 60 fps = 3600 frames: exact counts in every mode', () => {
  for (const frameCount of [105, 3600]) {
    for (const [beforeCount, afterCount] of [[0, 0], [4, 0], [0, 4], [4, 4]]) {
      const input = { frameCount, framesPerWindow: 16, contextFrames: 4, beforeCount, afterCount };
      const plan = planWindows(input);
      expect(checkPlan(input, plan).problems).toEqual([]);
      expect(plan.flatMap((w) => w.slots).filter((s) => s.kind === 'generate')).toHaveLength(frameCount);
    }
  }
});

test('bad geometry is refused naming the field', () => {
  expect(() => planWindows({ frameCount: 0, framesPerWindow: 16, contextFrames: 4, beforeCount: 0, afterCount: 0 })).toThrow(/frameCount/);
  expect(() => planWindows({ frameCount: 2.5, framesPerWindow: 16, contextFrames: 4, beforeCount: 0, afterCount: 0 })).toThrow(/frameCount/);
  expect(() => planWindows({ frameCount: 5, framesPerWindow: 4, contextFrames: 4, beforeCount: 0, afterCount: 0 })).toThrow(/context_frames/);
});
