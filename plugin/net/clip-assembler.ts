import { LongshotError } from '../../shared/errors';
import type { ServerMessage } from '../../shared/protocol';
import { base64ToBytes, sha256Hex } from './bytes';

/** A finished clip received over the stream, its sha256 checked. */
export interface ClipFile {
  jobId: string;
  fileName: string;
  mime: string;
  sha256: string;
  bytes: Uint8Array;
}

type ClipChunk = Extract<ServerMessage, { type: 'clip' }>;

/** Reassembles `clip` chunks per job; a job's clip is returned once all its chunks are in and its hash matches. */
export class ClipAssembler {
  private readonly partial = new Map<string, { chunks: Uint8Array[]; received: number }>();

  /** Adds one chunk; returns the whole file when this was the last one. Throws `media_unreadable` for a damaged clip. */
  add(chunk: ClipChunk): ClipFile | null {
    const { jobId, index, count } = chunk;
    let entry = this.partial.get(jobId);
    if (!entry || index === 0) {
      entry = { chunks: new Array<Uint8Array>(count), received: 0 };
      this.partial.set(jobId, entry);
    }
    if (!(index >= 0 && index < count) || entry.chunks.length !== count || entry.chunks[index]) {
      this.partial.delete(jobId);
      throw new LongshotError('media_unreadable', `clip of job ${jobId}: chunk ${index} of ${count} is out of order; retry the job`);
    }
    entry.chunks[index] = base64ToBytes(chunk.data);
    entry.received++;
    if (entry.received < count) return null;
    this.partial.delete(jobId);

    const bytes = new Uint8Array(chunk.bytes);
    let offset = 0;
    for (const part of entry.chunks) {
      if (offset + part!.length > bytes.length) throw new LongshotError('media_unreadable', `clip of job ${jobId} is longer than the ${chunk.bytes} bytes announced; retry the job`);
      bytes.set(part!, offset);
      offset += part!.length;
    }
    if (offset !== chunk.bytes) throw new LongshotError('media_unreadable', `clip of job ${jobId} arrived with ${offset} of ${chunk.bytes} bytes; retry the job`);
    const digest = sha256Hex(bytes);
    if (digest !== chunk.sha256) throw new LongshotError('media_unreadable', `clip of job ${jobId} arrived damaged (sha256 ${digest.slice(0, 12)}…, expected ${chunk.sha256.slice(0, 12)}…); retry the job`);
    return { jobId, fileName: chunk.fileName, mime: chunk.mime, sha256: digest, bytes };
  }

  /** Drops half-received clips (the connection closed; the panel subscribes again and gets them whole). */
  clear(): void {
    this.partial.clear();
  }
}
