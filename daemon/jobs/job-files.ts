import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';
import type { GenerateRequest, Job, Reference } from '../../shared/protocol';
import { assertMediaPathForm } from '../media/media-path';

/**
 * The files of jobs in the data folder: reference images of accepted jobs, one file each (0600), and the clips
 * jobs wrote with their posters. A job's stored request names its image files (`{ kind: 'stored' }`) instead of holding the base64,
 * so the database and every listing stay small. Deleting a job deletes all of them.
 */
export class JobFiles {
  constructor(readonly dir: string, readonly clipsDir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(clipsDir, { recursive: true, mode: 0o700 });
  }

  /** Where a job's clip goes (a folder of frames for png). */
  outputPath(job: Job): string {
    return path.join(this.clipsDir, `longshot-${job.id}.${job.request.format}`);
  }

  /** Where a job's poster JPEG goes, beside its clip. */
  posterPath(job: Job): string {
    return path.join(this.clipsDir, `longshot-${job.id}.jpg`);
  }

  /** A done job's poster, or null when it has none (not done, or the poster could not be written). */
  posterOf(job: Job): string | null {
    const poster = this.posterPath(job);
    return job.state === 'done' && fs.existsSync(poster) ? poster : null;
  }

  /** Deletes a job's reference images, its clip and its poster (only ever inside the clips folder). */
  remove(job: Job): void {
    this.removeFor(job.request);
    const output = this.outputPath(job);
    fs.rmSync(output, { recursive: true, force: true });
    fs.rmSync(this.posterPath(job), { force: true });
    if (job.output && path.dirname(path.resolve(job.output)) === path.resolve(this.clipsDir)) fs.rmSync(job.output, { recursive: true, force: true });
  }

  /** Writes the request's `images` to files and returns the request that names them; refuses client-sent `stored`. */
  accept(request: GenerateRequest): GenerateRequest {
    const written: string[] = [];
    try {
      const references = request.references.map((ref, index): Reference => {
        if (ref.source.kind === 'stored') {
          throw new LongshotError('bad_request', `request.references[${index}].source.kind: "stored" is how the daemon records images; send kind "images" with base64 or "media" with a path`, { field: `request.references[${index}].source.kind` });
        }
        if (ref.source.kind === 'media') {
          assertMediaPathForm(ref.source.path, `request.references[${index}].source.path`);
          return ref;
        }
        let bytes = 0;
        const files = ref.source.images.map((image) => {
          const name = `${randomUUID()}.img`;
          const data = Buffer.from(image, 'base64');
          bytes += data.length;
          written.push(name); // before writing: a write that fails half-way leaves a file to remove
          fs.writeFileSync(path.join(this.dir, name), data, { mode: 0o600, flag: 'wx' });
          return name;
        });
        return { role: ref.role, source: { kind: 'stored', files, bytes } };
      });
      return { ...request, references };
    } catch (err) {
      this.removeNames(written);
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new LongshotError('disk_full', `no space left on the disk of ${this.dir} to store the reference images; free space there (delete old jobs and their clips) or send the frames by media path`, { cause: err });
      }
      throw err;
    }
  }

  /** Deletes the reference files no job names (left by a crash or a full disk); returns their names. */
  sweepUnreferenced(referenced: ReadonlySet<string>): string[] {
    const stray = fs.readdirSync(this.dir).filter((name) => !referenced.has(name));
    this.removeNames(stray);
    return stray;
  }

  /** The bytes of one stored image. */
  read(name: string): Buffer {
    return fs.readFileSync(this.pathOf(name));
  }

  /** Deletes the image files a stored request names. */
  removeFor(request: GenerateRequest): void {
    this.removeNames(storedFiles(request));
  }

  private removeNames(names: string[]): void {
    for (const name of names) fs.rmSync(this.pathOf(name), { force: true });
  }

  private pathOf(name: string): string {
    if (path.basename(name) !== name) throw new LongshotError('internal', `reference file name "${name}" is not a plain name`);
    return path.join(this.dir, name);
  }
}

/** The reference image files a stored request names. */
export function storedFiles(request: GenerateRequest): string[] {
  return request.references.flatMap((ref) => (ref.source.kind === 'stored' ? ref.source.files : []));
}
