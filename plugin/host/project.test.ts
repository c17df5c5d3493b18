import { sameMediaPath } from './project';

describe('sameMediaPath', () => {
  it('matches Windows paths across separators and case, POSIX paths exactly', () => {
    expect(sameMediaPath('C:\\Users\\Ed\\AppData\\longshot-1.mp4', 'c:/users/ed/appdata/LONGSHOT-1.mp4')).toBe(true);
    expect(sameMediaPath('/Users/ed/Library/longshot-1.mp4', '/Users/ed/Library/longshot-1.mp4')).toBe(true);
    expect(sameMediaPath('/Users/ed/Library/longshot-1.mp4', '/users/ed/library/longshot-1.mp4')).toBe(false);
    expect(sameMediaPath('/a/longshot-1.mp4', '/a/longshot-2.mp4')).toBe(false);
  });
});
