/**
 * Every setting of the daemon and CLI: one table, each with its default and description. This is the only module
 * that reads `process.env`; everything else takes a `Config` (or the part it needs) as a parameter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_PORT } from '../shared/protocol-constants';

/** Default TCP port of the daemon; the panel's manifest permits exactly this loopback port. */
export const DEFAULT_PORT = DAEMON_PORT;

/** Resolved settings. */
export interface Config {
  port: number;
  dataDir: string;
  modelsDir: string;
  defaultModel: string;
  device: string;
  threads: number;
  ffmpegPath: string | null;
  queueCap: number;
  logLevel: string;
  maxJobCost: number;
  maxOutputBytes: number;
  maxOutputSide: number;
  keepJobs: number;
  keepDays: number;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  description: string;
  fallback: () => Config[K];
  parse: (raw: string) => Config[K];
}

const int = (name: string, min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
};
const text = (raw: string) => raw;

/** The per-user data folder the OS expects: XDG on Linux, Application Support on macOS, %LOCALAPPDATA% on Windows. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform, home = os.homedir()): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'Longshot');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Longshot');
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'longshot');
}

/** The project folder (holding package.json), found from this file whether it runs bundled (dist/) or from source. */
export const PROJECT_ROOT: string = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
})();

/** This build's version. */
export const LONGSHOT_VERSION: string = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The models folder that ships inside the project. */
export const BUNDLED_MODELS_DIR = path.join(PROJECT_ROOT, 'models');

/** The settings table: flag name = key in kebab-case (`--data-dir`), environment variable, default. */
export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  port: { key: 'port', env: 'LONGSHOT_PORT', description: 'TCP port on 127.0.0.1', fallback: () => DEFAULT_PORT, parse: int('port', 0, 65535) },
  dataDir: { key: 'dataDir', env: 'LONGSHOT_DATA_DIR', description: 'folder for the job database, clips and the pairing token', fallback: () => defaultDataDir(), parse: (raw) => path.resolve(raw) },
  modelsDir: { key: 'modelsDir', env: 'LONGSHOT_MODELS_DIR', description: 'folder of model packages (each a subfolder with model.json)', fallback: () => BUNDLED_MODELS_DIR, parse: (raw) => path.resolve(raw) },
  defaultModel: { key: 'defaultModel', env: 'LONGSHOT_MODEL', description: 'model used when a request names none', fallback: () => 'shapesworld-uvit', parse: text },
  device: { key: 'device', env: 'LONGSHOT_DEVICE', description: 'execution provider: auto, cpu, webgpu, cuda, dml or coreml', fallback: () => 'cpu', parse: text },
  threads: { key: 'threads', env: 'LONGSHOT_THREADS', description: 'CPU threads for inference (0 = all cores)', fallback: () => 0, parse: int('threads', 0, 1024) },
  ffmpegPath: { key: 'ffmpegPath', env: 'LONGSHOT_FFMPEG', description: 'ffmpeg binary (default: ffmpeg 5 or later on PATH, then the bundled one)', fallback: () => null, parse: text },
  queueCap: { key: 'queueCap', env: 'LONGSHOT_QUEUE_CAP', description: 'queued jobs accepted before new ones get 429', fallback: () => 32, parse: int('queue cap', 1, 100000) },
  logLevel: { key: 'logLevel', env: 'LONGSHOT_LOG_LEVEL', description: 'pino log level', fallback: () => 'info', parse: text },
  maxJobCost: { key: 'maxJobCost', env: 'LONGSHOT_MAX_JOB_COST', description: 'most sampler work one job may ask for, in frame-steps (frames × steps)', fallback: () => 200_000, parse: int('max job cost', 1, 1e12) },
  maxOutputBytes: { key: 'maxOutputBytes', env: 'LONGSHOT_MAX_OUTPUT_BYTES', description: 'largest clip one job may write, as estimated at submit (bytes)', fallback: () => 4 * 1024 ** 3, parse: int('max output bytes', 1, 2 ** 50) },
  maxOutputSide: { key: 'maxOutputSide', env: 'LONGSHOT_MAX_OUTPUT_SIDE', description: 'longest side of an output frame in pixels (the protocol allows up to 8192)', fallback: () => 4096, parse: int('max output side', 16, 8192) },
  keepJobs: { key: 'keepJobs', env: 'LONGSHOT_KEEP_JOBS', description: 'finished jobs kept (with their clips and references); older ones are deleted', fallback: () => 500, parse: int('keep jobs', 1, 1_000_000) },
  keepDays: { key: 'keepDays', env: 'LONGSHOT_KEEP_DAYS', description: 'days a finished job (with its clip and references) is kept', fallback: () => 30, parse: int('keep days', 1, 36500) },
};

/** Flag spelling of a setting key: `dataDir` → `data-dir`. */
export function flagName(key: keyof Config): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Resolves settings: flags win over environment, environment over defaults. Throws naming the flag or variable. */
export function loadConfig(flags: Partial<Record<string, string>> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const config = {} as Record<keyof Config, unknown>;
  for (const setting of Object.values(SETTINGS) as Setting<keyof Config>[]) {
    const flag = flags[flagName(setting.key)];
    const raw = flag ?? env[setting.env];
    const source = flag !== undefined ? `--${flagName(setting.key)}` : setting.env;
    try {
      config[setting.key] = raw === undefined || raw === '' ? setting.fallback() : setting.parse(raw);
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`);
    }
  }
  return config as Config;
}
