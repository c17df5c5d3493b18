import { numberFlag, parseCommandArgs, parseMediaAt, parseSize } from './args';

describe('CLI arguments', () => {
  test('FILE@SECONDS splits at the last @', () => {
    expect(parseMediaAt('/a@b/clip.mp4@1.5', 'extend')).toEqual({ path: '/a@b/clip.mp4', timeSeconds: 1.5 });
    expect(() => parseMediaAt('clip.mp4', 'extend')).toThrow('--extend: expected FILE@SECONDS such as clip.mp4@1.5, got "clip.mp4"');
    expect(() => parseMediaAt('clip.mp4@-1', 'fill')).toThrow(/--fill/);
  });

  test('sizes and numbers name the flag', () => {
    expect(parseSize('1280x720')).toEqual({ width: 1280, height: 720 });
    expect(() => parseSize('1280')).toThrow(/--size: expected WIDTHxHEIGHT/);
    expect(numberFlag('2.5', 'seconds')).toBe(2.5);
    expect(numberFlag(undefined, 'seconds')).toBeUndefined();
    expect(() => numberFlag('two', 'seconds')).toThrow('--seconds: expected a number, got "two"');
  });

  test('unknown flags are refused; setting flags are accepted everywhere', () => {
    expect(() => parseCommandArgs(['--bogus'], {})).toThrow(/bogus/);
    const args = parseCommandArgs(['--data-dir', '/x', 'prompt'], {});
    expect(args.text('data-dir')).toBe('/x');
    expect(args.positionals).toEqual(['prompt']);
  });
});
