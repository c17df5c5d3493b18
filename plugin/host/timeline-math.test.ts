import {
  TICKS_PER_SECOND,
  findGapAt,
  floorToFrame,
  fpsFromTimebase,
  framesForSeconds,
  lowestFreeTracks,
  parseTicks,
  secondsForFrames,
  spanFrames,
  tracksFromPreferred,
  type TrackSpans,
} from './timeline-math';

// Ticks per frame of the timebases Premiere offers.
const TIMEBASE = { '23.976': 10_594_584_000, '24': 10_584_000_000, '25': 10_160_640_000, '29.97': 8_475_667_200, '59.94': 4_237_833_600 };

const span = (startTicks: number, endTicks: number) => ({ startTicks, endTicks });

describe('timebase and frames', () => {
  it('turns ticks per frame into the exact frame rate', () => {
    expect(fpsFromTimebase(TIMEBASE['23.976'])).toBeCloseTo(24000 / 1001, 12);
    expect(fpsFromTimebase(TIMEBASE['25'])).toBe(25);
    expect(fpsFromTimebase(TIMEBASE['29.97'])).toBeCloseTo(30000 / 1001, 12);
    expect(() => fpsFromTimebase(0)).toThrow(/timebase/);
  });

  it.each(Object.entries(TIMEBASE))('round-trips frame counts through seconds at %s fps', (_name, tpf) => {
    for (const frames of [1, 2, 47, 48, 96, 1439]) {
      const seconds = secondsForFrames(frames, tpf);
      // What the daemon computes from the request: round(seconds × fps).
      expect(Math.round(seconds * fpsFromTimebase(tpf))).toBe(frames);
      expect(framesForSeconds(seconds, tpf)).toBe(frames);
    }
  });

  it('counts 4 s as 96 frames at 23.976 and 120 at 29.97', () => {
    expect(framesForSeconds(4, TIMEBASE['23.976'])).toBe(96);
    expect(framesForSeconds(4, TIMEBASE['29.97'])).toBe(120);
    expect(framesForSeconds(4, TIMEBASE['25'])).toBe(100);
  });

  it('parses tick strings and refuses unsafe ones', () => {
    expect(parseTicks('254016000000')).toBe(TICKS_PER_SECOND);
    expect(() => parseTicks('99999999999999999999')).toThrow(/9.8 hours/);
  });

  it('snaps a time down to its frame', () => {
    const tpf = TIMEBASE['25'];
    expect(floorToFrame(tpf * 10 + 5, tpf)).toBe(tpf * 10);
    expect(floorToFrame(tpf * 10, tpf)).toBe(tpf * 10);
  });
});

describe('gaps', () => {
  it.each(Object.entries(TIMEBASE))('finds the gap under the playhead and its exact frames at %s fps', (_name, tpf) => {
    const tracks: TrackSpans[] = [
      { index: 0, clips: [span(0, 48 * tpf), span(48 * tpf, 100 * tpf)] },
      { index: 1, clips: [span(10 * tpf, 30 * tpf), span(67 * tpf, 90 * tpf)] },
    ];
    const gap = findGapAt(tracks, 40 * tpf + 3)!;
    expect(gap).toEqual({ trackIndex: 1, startTicks: 30 * tpf, endTicks: 67 * tpf });
    expect(spanFrames(gap, tpf)).toBe(37);
  });

  it('treats a clip first frame as inside the clip and open ends as no gap', () => {
    const tpf = TIMEBASE['24'];
    const tracks: TrackSpans[] = [{ index: 0, clips: [span(10 * tpf, 20 * tpf), span(30 * tpf, 40 * tpf)] }];
    expect(findGapAt(tracks, 30 * tpf)).toBeNull();
    expect(findGapAt(tracks, 5 * tpf)).toBeNull();
    expect(findGapAt(tracks, 45 * tpf)).toBeNull();
    expect(findGapAt(tracks, 20 * tpf)).toEqual({ trackIndex: 0, startTicks: 20 * tpf, endTicks: 30 * tpf });
  });

  it('refuses a gap that is not whole frames, tolerating a few ticks', () => {
    const tpf = TIMEBASE['25'];
    expect(spanFrames(span(0, tpf * 3 + 7), tpf)).toBe(3);
    expect(() => spanFrames(span(0, tpf * 3 + tpf / 3), tpf)).toThrow(/whole number of frames/);
  });
});

describe('track choice', () => {
  const tpf = TIMEBASE['24'];
  const tracks: TrackSpans[] = [
    { index: 0, clips: [span(0, 100 * tpf)] },
    { index: 1, clips: [span(50 * tpf, 60 * tpf)] },
    { index: 2, clips: [] },
  ];

  it('puts B-roll on the lowest track free for the whole duration, a new track last', () => {
    expect(lowestFreeTracks(tracks, span(40 * tpf, 49 * tpf))).toEqual([1, 2, 3]);
    expect(lowestFreeTracks(tracks, span(40 * tpf, 51 * tpf))).toEqual([2, 3]);
    expect(lowestFreeTracks(tracks, span(100 * tpf, 110 * tpf))).toEqual([0, 1, 2, 3]);
    expect(lowestFreeTracks([], span(0, tpf))).toEqual([0]);
  });

  it('keeps an extension on its own track when free, else goes above', () => {
    expect(tracksFromPreferred(tracks, 1, span(60 * tpf, 70 * tpf))).toEqual([1, 2, 3]);
    expect(tracksFromPreferred(tracks, 0, span(90 * tpf, 110 * tpf))).toEqual([1, 2, 3]);
    expect(tracksFromPreferred(tracks, 1, span(55 * tpf, 70 * tpf))).toEqual([2, 3]);
  });
});
