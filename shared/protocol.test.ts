import { LongshotError } from './errors';
import { parseClientMessage, parseGenerateRequest, protocolMajor } from './protocol';

const base = { prompt: 'a red circle moves right', seconds: 2, fps: 24 };

function errorOf(fn: () => unknown): LongshotError {
  try {
    fn();
  } catch (err) {
    return err as LongshotError;
  }
  throw new Error('expected an error');
}

describe('GenerateRequest validation', () => {
  test('defaults: broll, mp4, no references', () => {
    expect(parseGenerateRequest(base)).toEqual({ ...base, mode: 'broll', format: 'mp4', references: [] });
  });

  test.each([
    [{ ...base, seconds: 0 }, 'request.seconds', /greater than 0/],
    [{ ...base, seconds: Number.NaN }, 'request.seconds', /number/],
    [{ ...base, fps: 61 }, 'request.fps', /at most 60/],
    [{ ...base, steps: 2.5 }, 'request.steps', /integer/],
    [{ ...base, width: 1280 }, 'request.height', /together/],
    [{ ...base, width: 1281, height: 720 }, 'request.width', /even/],
    [{ ...base, mode: 'fill', references: [{ role: 'before', source: { kind: 'media', path: '/a.mp4', timeSeconds: 1 } }] }, 'request.references', /two references/],
    [{ ...base, references: [{ role: 'before', source: { kind: 'media', path: '/a.mp4', timeSeconds: -1 } }], mode: 'extend' }, 'request.references.0.source.timeSeconds', /≥ 0/],
    [{ ...base, extra: 1 }, 'request', /unknown field/],
  ])('%j is refused naming %s', (input, field, message) => {
    const err = errorOf(() => parseGenerateRequest(input));
    expect(err).toBeInstanceOf(LongshotError);
    expect(err.code).toBe('bad_request');
    expect(err.message.startsWith(field)).toBe(true);
    expect(err.message).toMatch(message);
  });

  test('fill with both sides, 23.976 fps', () => {
    const req = parseGenerateRequest({
      ...base,
      fps: 24000 / 1001,
      mode: 'fill',
      references: [
        { role: 'after', source: { kind: 'media', path: '/b.mp4', timeSeconds: 0 } },
        { role: 'before', source: { kind: 'media', path: '/a.mp4', timeSeconds: 3 } },
      ],
    });
    expect(req.references).toHaveLength(2);
  });
});

describe('client messages', () => {
  test('unknown type is refused', () => {
    expect(errorOf(() => parseClientMessage({ type: 'explode', requestId: '1' })).message).toMatch(/type/);
  });
  test('protocol majors', () => {
    expect(protocolMajor('1.0')).toBe(1);
    expect(protocolMajor('2.3')).toBe(2);
    expect(protocolMajor('x')).toBeNaN();
  });
});
