import fs from 'node:fs';
import path from 'node:path';

/**
 * Makes the data folder private to this user, whoever created it and whatever it holds: the folder and every folder
 * inside it 0700, every file 0600 (links are left alone). Run at every start of `serve`, `pair` and `doctor`, and
 * sets the process umask to 077 so that what is written afterwards (SQLite's -wal/-shm, ffmpeg's clips) is too.
 * Returns the paths whose mode it changed.
 */
export function securePrivateTree(dataDir: string): string[] {
  if (process.platform !== 'win32') process.umask(0o077);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const changed: string[] = [];
  const fix = (file: string, stat: fs.Stats, mode: number) => {
    if ((stat.mode & 0o777) !== mode) {
      fs.chmodSync(file, mode);
      changed.push(file);
    }
  };
  const walk = (dir: string) => {
    fix(dir, fs.statSync(dir), 0o700);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) fix(full, fs.lstatSync(full), 0o600);
    }
  };
  if (process.platform !== 'win32') walk(dataDir);
  return changed;
}
