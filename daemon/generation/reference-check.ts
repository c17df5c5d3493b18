import { LongshotError } from '../../shared/errors';
import type { GenerateRequest } from '../../shared/protocol';
import { probeMedia } from '../media/probe';
import type { Ffmpeg } from '../media/run-ffmpeg';

/** At most this many submissions have their media references checked at once: each check runs ffmpeg. */
export const MAX_REFERENCE_CHECKS = 4;

/**
 * Checks a submitted request's media references as its job will read them (probe.ts: an absolute path to a readable
 * regular file that ffmpeg decodes a frame of), so a reference that cannot be used is refused at submit instead of
 * failing the job later. A missing file and an unusable one get the same message, no sooner than probe.ts's floor.
 */
export class ReferenceCheck {
  private running = 0;

  constructor(private readonly ffmpeg: Ffmpeg) {}

  async assertUsable(request: GenerateRequest): Promise<void> {
    const media = request.references.flatMap((r, index) => (r.source.kind === 'media' ? [{ path: r.source.path, field: `request.references[${index}].source.path` }] : []));
    if (media.length === 0) return;
    if (this.running >= MAX_REFERENCE_CHECKS) {
      throw new LongshotError('queue_full', `the daemon is already checking the references of ${MAX_REFERENCE_CHECKS} submissions; submit this one again in a second`);
    }
    this.running += 1;
    try {
      await Promise.all(media.map((m) => probeMedia(this.ffmpeg, m.path, m.field)));
    } finally {
      this.running -= 1;
    }
  }
}
