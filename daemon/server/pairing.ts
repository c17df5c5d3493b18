import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';

/** How long a one-time pairing code stays valid. */
export const PAIRING_CODE_TTL_MS = 5 * 60 * 1000;
/** Delay before a wrong code is answered, doubling with each wrong try from the same source, up to the cap. */
export const WRONG_CODE_DELAY_MS = 500;
export const WRONG_CODE_DELAY_CAP_MS = 5_000;
// A source's wrong tries are forgotten after this long without one, and after it pairs.
const WRONG_CODE_MEMORY_MS = 15 * 60 * 1000;
// Crockford's base32 without I, L, O, U: nothing a person could misread when typing the code from a terminal.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface StoredCode {
  sha256: string;
  expiresAt: number;
}

/**
 * The per-install pairing secret and its one-time codes. The token lives 0600 in the data folder; `longshot pair`
 * (another process) writes a code's hash there, and the daemon redeems it, so no secret is ever copy-pasted.
 */
export class Pairing {
  private readonly tokenFile: string;
  private readonly codeFile: string;
  /** Written when the token had to be made anew in a data folder already in use; removed when a client pairs. */
  private readonly remadeFile: string;
  /** The job database: its presence says the folder was in use before (a first start makes the token before it). */
  private readonly jobsFile: string;
  /** Wrong tries per source address: count and time of the last one. */
  private readonly wrongTries = new Map<string, { count: number; at: number }>();

  constructor(dataDir: string, private readonly now: () => number = Date.now) {
    this.tokenFile = path.join(dataDir, 'token');
    this.codeFile = path.join(dataDir, 'pairing-code.json');
    this.remadeFile = path.join(dataDir, 'token-remade.json');
    this.jobsFile = path.join(dataDir, 'jobs.sqlite');
  }

  /** The install's token, created (32 random bytes, base64url, 43 characters) on first use. */
  token(): string {
    try {
      const existing = fs.readFileSync(this.tokenFile, 'utf8').trim();
      if (existing.length >= 32) return existing;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const token = randomBytes(32).toString('base64url');
    writePrivate(this.tokenFile, token + '\n');
    if (fs.existsSync(this.jobsFile)) writePrivate(this.remadeFile, JSON.stringify({ at: new Date(this.now()).toISOString() }));
    return token;
  }

  /**
   * What to tell the user about the token, or null when all is well: it was made anew because its file had gone from
   * a folder in use (until a client pairs again), or its file is missing now. Either way every paired client is locked out.
   */
  tokenNotice(): string | null {
    let remadeAt: string | null = null;
    try {
      remadeAt = (JSON.parse(fs.readFileSync(this.remadeFile, 'utf8')) as { at: string }).at;
    } catch {
      // not remade
    }
    if (remadeAt) return `the pairing token was made anew at ${remadeAt} because its file ${this.tokenFile} had gone: every client paired before (the panel, scripts) must pair again with \`npx longshot pair\``;
    if (!fs.existsSync(this.tokenFile) && fs.existsSync(this.jobsFile)) return `the pairing token file ${this.tokenFile} is missing: the daemon will make a new token, and every client paired before must pair again with \`npx longshot pair\``;
    return null;
  }

  /** Whether `candidate` is the token, in time independent of where they differ. */
  checkToken(candidate: string): boolean {
    return sameSecret(candidate, this.token());
  }

  /** Makes a fresh one-time code (replacing any earlier one) like `7KQ2-M9XD`. */
  createCode(): { code: string; expiresAt: Date } {
    let raw = '';
    for (let i = 0; i < 8; i++) raw += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
    const stored: StoredCode = { sha256: hash(raw), expiresAt: this.now() + PAIRING_CODE_TTL_MS };
    writePrivate(this.codeFile, JSON.stringify(stored));
    return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt: new Date(stored.expiresAt) };
  }

  /**
   * {@link redeem} for a caller at `source` (its address). A wrong code costs the caller, not the user: its reply
   * waits 0.5 s, doubling with each wrong try from that source (up to 5 s), and the code itself stays valid, so
   * nobody can burn the user's code by guessing.
   */
  async redeemFrom(code: string, source: string, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())): Promise<string> {
    try {
      const token = this.redeem(code);
      this.wrongTries.delete(source);
      return token;
    } catch (err) {
      const last = this.wrongTries.get(source);
      const count = last && this.now() - last.at < WRONG_CODE_MEMORY_MS ? last.count + 1 : 1;
      if (this.wrongTries.size > 10_000) this.wrongTries.clear();
      this.wrongTries.set(source, { count, at: this.now() });
      await sleep(Math.min(WRONG_CODE_DELAY_CAP_MS, WRONG_CODE_DELAY_MS * 2 ** (count - 1)));
      throw err;
    }
  }

  /** Exchanges a one-time code for the token; the code dies on success and on expiry (wrong tries do not burn it). */
  redeem(code: string): string {
    const stored = this.readCode();
    const invalid = (why: string) => new LongshotError('unauthorized', `code: ${why}; run \`npx longshot pair\` for a new code`, { field: 'code' });
    if (!stored) throw invalid('no pairing code is active');
    if (this.now() > stored.expiresAt) {
      fs.rmSync(this.codeFile, { force: true });
      throw invalid('the pairing code has expired (codes live 5 minutes)');
    }
    const normalised = code.toUpperCase().replace(/[\s-]/g, '');
    if (!sameSecret(hash(normalised), stored.sha256)) throw invalid('wrong code; check it against what `npx longshot pair` printed');
    fs.rmSync(this.codeFile, { force: true });
    fs.rmSync(this.remadeFile, { force: true });
    return this.token();
  }

  private readCode(): StoredCode | null {
    try {
      return JSON.parse(fs.readFileSync(this.codeFile, 'utf8')) as StoredCode;
    } catch {
      return null;
    }
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time equality of two secrets of any length (compared as digests, so length leaks nothing). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a, 'utf8').digest(), createHash('sha256').update(b, 'utf8').digest());
}

/** Writes a file only the owner can read, atomically (temp file, fsync, rename). */
function writePrivate(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}
