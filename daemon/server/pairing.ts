import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';

/** How long a one-time pairing code stays valid. */
export const PAIRING_CODE_TTL_MS = 5 * 60 * 1000;
/**
 * Wrong codes are answered one at a time, this far apart, whoever sends them (every 127.x.y.z is this machine, so a
 * limit per source address limits nothing): at most two guesses a second in all.
 */
export const WRONG_CODE_DELAY_MS = 500;
/** Wrong tries that may wait for their answer at once; beyond them every try is refused unchecked with queue_full. */
export const MAX_WAITING_WRONG_CODES = 32;
// Crockford's base32 without I, L, O, U: nothing a person could misread when typing the code from a terminal.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface StoredCode {
  sha256: string;
  expiresAt: number;
  /** Codes this one replaced while they were still valid, and when: typing one is told so, not just "wrong". */
  replaced?: { sha256: string; at: number }[];
}

/** How many replaced codes are remembered. */
const REPLACED_CODES_KEPT = 4;

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
  /** When the last wrong try waiting is answered, and how many wait. */
  private lastWrongAnswerAt = 0;
  private waitingWrong = 0;

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
    const previous = this.readCode();
    const replaced = previous && this.now() <= previous.expiresAt ? [...(previous.replaced ?? []), { sha256: previous.sha256, at: this.now() }].slice(-REPLACED_CODES_KEPT) : [];
    const stored: StoredCode = { sha256: hash(raw), expiresAt: this.now() + PAIRING_CODE_TTL_MS, replaced };
    writePrivate(this.codeFile, JSON.stringify(stored));
    return { code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt: new Date(stored.expiresAt) };
  }

  /**
   * {@link redeem} for a client. A wrong code costs its callers, not the user: wrong tries are answered in turn,
   * {@link WRONG_CODE_DELAY_MS} apart (the first after as long), and the code itself stays valid, so nobody can burn
   * the user's code by guessing; a right code is answered at once. While {@link MAX_WAITING_WRONG_CODES} wait, any
   * try is refused without being checked, so a flood learns nothing faster.
   */
  async redeemPaced(code: string, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())): Promise<string> {
    if (this.waitingWrong >= MAX_WAITING_WRONG_CODES) {
      throw new LongshotError('queue_full', `code: ${MAX_WAITING_WRONG_CODES} wrong pairing tries are waiting for their answer; try again in a minute`, { field: 'code' });
    }
    try {
      return this.redeem(code);
    } catch (err) {
      this.lastWrongAnswerAt = Math.max(this.now(), this.lastWrongAnswerAt) + WRONG_CODE_DELAY_MS;
      this.waitingWrong += 1;
      try {
        await sleep(this.lastWrongAnswerAt - this.now());
      } finally {
        this.waitingWrong -= 1;
      }
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
    if (!sameSecret(hash(normalised), stored.sha256)) {
      const replacedAt = stored.replaced?.find((r) => sameSecret(hash(normalised), r.sha256))?.at;
      if (replacedAt !== undefined) throw new LongshotError('unauthorized', `code: this code was replaced at ${new Date(replacedAt).toLocaleTimeString()} by a newer one (each \`npx longshot pair\` ends the code before it); type the code it printed last`, { field: 'code' });
      throw invalid('wrong code; check it against what `npx longshot pair` printed');
    }
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
