/**
 * Issue 28 item 8: the CLI starts fast. Help, and a mistyped command, answer without loading the packages a command
 * needs (ORT, SQLite, express, zod, pino, C2PA): those are most of `longshot --help`'s time (1.5 s on main before).
 * Runs the built CLI (bin/longshot.cjs, `npm run build`).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';

const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const HEAVY = ['onnxruntime-node', 'better-sqlite3', 'express', 'zod', 'pino', 'ws', '@peculiar', '@huggingface'];

let dir: string;
let recorder: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-cli-startup-'));
  // Preloaded into the CLI's process: prints, at exit, the node_modules packages it loaded.
  recorder = path.join(dir, 'record-modules.cjs');
  fs.writeFileSync(recorder, `process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('node_modules'))) + '\\n'));\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with the recorder; its exit code, output and the packages it loaded. */
async function run(args: string[]): Promise<{ code: number; stdout: string; loaded: string[] }> {
  const result = await promisify(execFile)(process.execPath, ['--require', recorder, CLI, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
  const line = result.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  expect(line).toBeDefined();
  return { code: result.code, stdout: result.stdout, loaded: JSON.parse(line!.slice('LOADED '.length)) as string[] };
}

const heavyIn = (loaded: string[]) => HEAVY.filter((name) => loaded.some((file) => file.includes(`node_modules/${name}`)));

test('help and a mistyped command load none of the packages a command needs', async () => {
  for (const args of [['--help'], ['generate', '--help'], ['help', 'serve'], ['genrate']]) {
    const { code, stdout, loaded } = await run(args);
    expect([args, code === 0 ? stdout.slice(0, 6) : code]).toEqual([args, args[0] === 'genrate' ? 2 : 'Usage:']);
    expect([args, heavyIn(loaded)]).toEqual([args, []]);
  }
});

test('a command loads them when it runs', async () => {
  const { code, loaded } = await run(['models', '--models-dir', path.join(dir, 'no-models'), '--json']);
  expect(code).toBe(0);
  expect(heavyIn(loaded)).toEqual(expect.arrayContaining(['onnxruntime-node', 'zod']));
});
