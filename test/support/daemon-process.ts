import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../daemon/config';
import { TEST_MODEL, TEST_MODELS_DIR } from './daemon-harness';

/** A daemon running as its own process (`node bin/longshot.cjs serve`), as a user starts it. */
export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts `longshot serve` on an ephemeral port with the tiny model; resolves once it prints where it listens. */
export function spawnDaemon(dataDir: string, extraArgs: string[] = []): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'longshot.cjs'), 'serve', '--port', '0', '--data-dir', dataDir, '--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--threads', '1', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]), stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code} before listening:\n${err}`)));
  });
}

/** Resolves when the process has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}
