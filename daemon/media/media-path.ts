import fs from 'node:fs/promises';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';

// Kernel files look like regular files of size 0 but are not media; a reference there is refused like a missing one.
const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev'];

/**
 * The one error for a reference path that cannot be used as media. Missing, unreadable, not a regular file and not
 * decodable all read the same, so a client cannot learn which paths exist on this machine.
 */
export function unusableMedia(field: string, mediaPath: string, cause?: unknown): LongshotError {
  return new LongshotError(
    'media_unreadable',
    `${field}: no readable video or image at ${JSON.stringify(mediaPath)}; give the absolute path of a video (MP4, MOV, MKV, AVI, MXF, GIF) or picture (PNG, JPEG, WebP, TIFF) this user can read`,
    { field, cause },
  );
}

/**
 * Checks the form of a media path: absolute, no URL or protocol prefix (`http:`, `file:`, `concat:`, …), no printf
 * pattern (`%d`) and no control characters. Throws `bad_request` naming the field and the fix.
 */
export function assertMediaPathForm(mediaPath: string, field: string): void {
  const refuse = (why: string) => new LongshotError('bad_request', `${field}: ${why}; give the absolute path of a media file on this machine`, { field });
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(mediaPath)) throw refuse('control characters (CR, LF, NUL, …) are not allowed in a path');
  if (/^[a-z][a-z0-9+.-]+:/i.test(mediaPath)) throw refuse('URLs and protocol prefixes (http:, file:, concat:, …) are not read');
  if (mediaPath.includes('%')) throw refuse('"%" patterns (image sequences such as frame%05d.png) are not read');
  if (!path.isAbsolute(mediaPath)) throw refuse('relative paths are not resolved');
}

/**
 * Resolves a media path to the regular file it names (symlinks followed), after {@link assertMediaPathForm}.
 * Anything but a readable, non-empty regular file outside /proc, /sys and /dev is {@link unusableMedia}.
 */
export async function resolveMediaFile(mediaPath: string, field: string): Promise<string> {
  assertMediaPathForm(mediaPath, field);
  let real: string;
  try {
    real = await fs.realpath(mediaPath);
    const stat = await fs.stat(real);
    if (!stat.isFile() || stat.size === 0) throw new Error('not a non-empty regular file');
    if (PSEUDO_FILESYSTEMS.some((root) => real === root || real.startsWith(root + path.sep))) throw new Error('a kernel file');
    await fs.access(real, fs.constants.R_OK);
  } catch (err) {
    throw unusableMedia(field, mediaPath, err);
  }
  // The resolved path may itself hold what a path must not (a symlink to "http:…" is a relative name): check again.
  assertMediaPathForm(real, field);
  return real;
}
