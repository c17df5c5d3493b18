import path from 'node:path';
import { defaultDataDir, DEFAULT_PORT, loadConfig } from './config';

describe('config', () => {
  test('defaults', () => {
    const config = loadConfig({}, {});
    expect(config.port).toBe(DEFAULT_PORT);
    expect(config.device).toBe('cpu');
    expect(path.basename(config.modelsDir)).toBe('models');
  });

  test('flags win over environment, environment over defaults', () => {
    expect(loadConfig({}, { LONGSHOT_PORT: '5000' }).port).toBe(5000);
    expect(loadConfig({ port: '6000' }, { LONGSHOT_PORT: '5000' }).port).toBe(6000);
    expect(loadConfig({ 'data-dir': 'rel' }, {}).dataDir).toBe(path.resolve('rel'));
  });

  test('bad values name the flag or the variable', () => {
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow('--port: port must be an integer from 0 to 65535, got "abc"');
    expect(() => loadConfig({}, { LONGSHOT_QUEUE_CAP: '0' })).toThrow(/^LONGSHOT_QUEUE_CAP: queue cap/);
  });

  test('per-user data folder per OS', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/home/u')).toBe('/x/longshot');
    expect(defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/longshot');
    expect(defaultDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Longshot');
    expect(defaultDataDir({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U')).toContain('Longshot');
  });
});
