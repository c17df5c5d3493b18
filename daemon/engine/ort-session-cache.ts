import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/** A temporary copy this old was left by a process that died writing it: optimising takes seconds, not an hour. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/** What this process writes beside each optimised graph, and reads back before trusting it. */
interface CacheRecord {
  /** sha256 of the optimised graph file as ORT wrote it. */
  sha256: string;
  bytes: number;
}

/**
 * ORT's optimised graphs, kept under the data folder so a graph is optimised once per machine and ORT version
 * rather than at every load (ShapesWorld's uvit.onnx: 350 → 220 ms; its encoder: 9.7 → 4.9 s, loaded machine).
 * A copy is named by the source graph's sha256 (model.json, verified at load), the provider, the ORT version and the
 * CPU, since an optimised graph may use this CPU's own kernel layouts. A copy is used only when it is a private
 * (0600) regular file of this user whose sha256 matches the record this cache wrote beside it when ORT made it;
 * anything else (a file this cache did not write, a damaged or replaced one) is ignored and written again.
 * Only the CPU provider's graphs are kept: other providers may fuse nodes for one device in ways not meant to be saved.
 */
export class OptimizedGraphCache {
  private readonly machine: string;

  /** The daemon's and the CLI's cache: in the private data folder, so only this user writes there. */
  static inDataDir(dataDir: string): OptimizedGraphCache {
    return new OptimizedGraphCache(path.join(dataDir, 'graph-cache'));
  }

  constructor(readonly dir: string) {
    this.machine = createHash('sha256').update(`${os.arch()} ${os.cpus()[0]?.model ?? 'unknown cpu'}`).digest('hex').slice(0, 12);
  }

  /**
   * A session for the graph at `graphPath` (whose sha256 is `graphSha256`): from its optimised copy when there is one
   * to trust, else from the graph itself, ORT writing the optimised copy for next time.
   */
  async createSession(graphPath: string, graphSha256: string, provider: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
    if (provider !== 'cpu') return ort.InferenceSession.create(graphPath, options);
    const copy = path.join(this.dir, `${graphSha256}-${provider}-ort${ort.env.versions.node}-${this.machine}.onnx`);
    const record = `${copy}.json`;
    if (await this.trusted(copy, record)) {
      // Already optimised: ORT need only run it. A copy ORT cannot load is dropped and made again below.
      const session = await ort.InferenceSession.create(copy, { ...options, graphOptimizationLevel: 'disabled' }).catch(() => null);
      if (session) return session;
    }
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.sweep();
    const pending = path.join(this.dir, `.${path.basename(copy)}.${process.pid}-${randomBytes(4).toString('hex')}`);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(graphPath, { ...options, optimizedModelFilePath: pending });
    } catch {
      // The graph's own error (or one ORT met saving the copy, a full disk): said by a load without the cache.
      fs.rmSync(pending, { force: true });
      return ort.InferenceSession.create(graphPath, options);
    }
    await this.keep(pending, copy, record).catch(() => fs.rmSync(pending, { force: true })); // the session works without it
    return session;
  }

  /**
   * Removes what no run will read: copies made by another ORT version (an upgrade leaves them) and temporary copies
   * older than {@link ABANDONED_AFTER_MS} (a process that died while ORT wrote them).
   */
  private sweep(): void {
    const abandoned = Date.now() - ABANDONED_AFTER_MS;
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      const version = /-ort([^-]+)-/.exec(name)?.[1];
      const stale = name.startsWith('.') ? (fs.lstatSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < abandoned : version !== undefined && version !== ort.env.versions.node;
      if (stale) fs.rmSync(file, { force: true });
    }
  }

  /** A copy is trusted when it and its record are this user's private regular files and the copy's sha256 is the recorded one. */
  private async trusted(copy: string, recordFile: string): Promise<boolean> {
    try {
      if (!privateFile(copy) || !privateFile(recordFile)) return false;
      const record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as CacheRecord;
      return record.bytes === fs.statSync(copy).size && record.sha256 === (await sha256Of(copy));
    } catch {
      return false;
    }
  }

  /** Makes ORT's fresh copy private, records its sha256, then moves it into place (the record first: a copy without one is never read). */
  private async keep(pending: string, copy: string, recordFile: string): Promise<void> {
    fs.chmodSync(pending, 0o600);
    const record: CacheRecord = { sha256: await sha256Of(pending), bytes: fs.statSync(pending).size };
    const pendingRecord = `${pending}.json`;
    fs.writeFileSync(pendingRecord, JSON.stringify(record), { mode: 0o600 });
    fs.rmSync(recordFile, { force: true });
    fs.renameSync(pending, copy);
    fs.renameSync(pendingRecord, recordFile);
  }
}

/** A regular file (not a link) owned by this user and readable by no one else; on Windows, where modes mean little, a regular file. */
function privateFile(file: string): boolean {
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return false;
  if (process.platform === 'win32') return true;
  return stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
