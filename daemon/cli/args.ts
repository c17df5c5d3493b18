import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LongshotError } from '../../shared/errors';
import { SETTINGS, flagName } from '../config';

/** Flags every command accepts: one per setting of the config table (`--data-dir`, `--device`, …). */
export const SETTING_FLAGS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  Object.keys(SETTINGS).map((key) => [flagName(key as keyof typeof SETTINGS), { type: 'string' as const }]),
);

/** Parsed flags of one command: string flags as strings, boolean flags as true. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The value of a string flag, or undefined. */
  text(name: string): string | undefined;
}

/**
 * Parses argv for one command; unknown flags are a usage error naming the flag. A negative number after a flag that
 * takes a value (`--seconds -2`) is that flag's value, so its own check can say what is wrong with it.
 */
export function parseCommandArgs(argv: string[], options: NonNullable<ParseArgsConfig['options']>): CommandArgs {
  const all = { ...SETTING_FLAGS, ...options };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [arg, next] = [argv[i]!, argv[i + 1]];
    const takesValue = arg.startsWith('--') && all[arg.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\.?\d/.test(next)) args.push(`${arg}=${argv[++i]}`);
    else args.push(arg);
  }
  try {
    const parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
    const values = parsed.values as CommandArgs['values'];
    return { values, positionals: parsed.positionals, text: (name) => (typeof values[name] === 'string' ? (values[name] as string) : undefined) };
  } catch (err) {
    throw new LongshotError('bad_request', (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/** The setting flags given, keyed by flag name, for loadConfig. */
export function settingFlags(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(SETTING_FLAGS)) if (typeof values[name] === 'string') out[name] = values[name] as string;
  return out;
}

/** Parses `FILE@SECONDS` (the last @ splits, so paths may contain @). */
export function parseMediaAt(value: string, flag: string): { path: string; timeSeconds: number } {
  const at = value.lastIndexOf('@');
  const time = at < 0 ? NaN : Number(value.slice(at + 1));
  if (at <= 0 || !Number.isFinite(time) || time < 0) {
    throw new LongshotError('bad_request', `--${flag}: expected FILE@SECONDS such as clip.mp4@1.5, got "${value}"`, { field: flag });
  }
  return { path: value.slice(0, at), timeSeconds: time };
}

/** Parses `WxH`. */
export function parseSize(value: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!match) throw new LongshotError('bad_request', `--size: expected WIDTHxHEIGHT such as 1280x720, got "${value}"`, { field: 'size' });
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Parses a number flag, naming it when it is not one. */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new LongshotError('bad_request', `--${flag}: expected a number, got "${value}"`, { field: flag });
  return n;
}

/** `clip.mp4` → `clip-seed7.mp4`: where one of several variations goes (a PNG folder gets the suffix too). */
export function variationPath(output: string, seed: number): string {
  const ext = path.extname(output);
  return `${output.slice(0, output.length - ext.length)}-seed${seed}${ext}`;
}

const REQUEST_FLAGS: Record<string, string> = {
  prompt: 'the prompt', seconds: '--seconds', fps: '--fps', width: '--size', height: '--size', seed: '--seed', steps: '--steps',
  guidance: '--guidance', sampler: '--sampler', format: '--format', codec: '--codec', model: '--model',
};

/**
 * Renames a request field in an error to the flag the user typed: `request.fps: fps must be at least 6` becomes
 * `--fps: must be at least 6`; a reference's fields become `referenceFlag` (`--extend`, `--fill`, …).
 */
export function flagError(err: unknown, referenceFlag: string): unknown {
  if (!(err instanceof LongshotError) || !err.field?.startsWith('request.')) return err;
  const key = err.field.slice('request.'.length).split(/[.[]/)[0]!;
  const flag = key === 'references' ? referenceFlag : REQUEST_FLAGS[key];
  if (!flag) return err;
  let rest = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
  if (new RegExp(`^${key} (must|is) `).test(rest)) rest = rest.slice(key.length + 1);
  rest = rest.replace(/request\.references(\[\d+\]|\.\d+)\.source\.\w+: /, '');
  return new LongshotError(err.code, `${flag}: ${rest}`, { field: flag.replace(/^--/, ''), cause: err });
}
