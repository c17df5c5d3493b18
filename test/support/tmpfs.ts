import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A mounted tmpfs: a real small disk that fills up. */
export interface Tmpfs {
  dir: string;
  /** Writes a file of zeros until the disk has no page left; returns its path (remove it to free the disk). */
  fill(): string;
  unmount(): void;
}

/** Why this machine cannot mount a tmpfs (not root, no mount permission), or null when it can: tests skip saying why. */
export function cannotMountTmpfs(): string | null {
  const probe = mountTmpfs(fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-probe-')), '4k');
  if (typeof probe === 'string') return probe;
  probe.unmount();
  return null;
}

/**
 * Mounts a tmpfs of `size` (such as "16m") on `dir` (root only; CI runs as root). Returns the reason instead when this
 * machine cannot, so the caller can skip saying why.
 */
export function mountTmpfs(dir: string, size: string): Tmpfs | string {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
  return {
    dir,
    fill() {
      const file = path.join(dir, `filler-${Date.now()}`);
      const fd = fs.openSync(file, 'w', 0o600);
      try {
        for (const chunk of [Buffer.alloc(1024 * 1024), Buffer.alloc(4096)]) {
          for (;;) {
            try {
              fs.writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return file;
    },
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}
