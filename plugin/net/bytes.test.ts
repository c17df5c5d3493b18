import { createHash, randomBytes } from 'node:crypto';
import { base64ToBytes, bytesToBase64, sha256Hex } from './bytes';

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('matches Node crypto at every padding boundary and on a large buffer', () => {
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(n);
      expect(sha256Hex(new Uint8Array(data))).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('reads a view into a larger buffer, not the whole buffer', () => {
    const whole = randomBytes(300);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 7, 200);
    expect(sha256Hex(view)).toBe(createHash('sha256').update(whole.subarray(7, 207)).digest('hex'));
  });
});

describe('base64', () => {
  it('decodes like Node for every length remainder', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 512 * 1024]) {
      const data = randomBytes(n);
      expect(Buffer.from(base64ToBytes(data.toString('base64'))).equals(data)).toBe(true);
    }
  });

  it('refuses characters outside the alphabet', () => {
    expect(() => base64ToBytes('ab$d')).toThrow(/invalid base64 character at 2/);
  });
});

describe('bytesToBase64', () => {
  it('matches Node at every padding length and round-trips through base64ToBytes', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 1000, 65_537]) {
      const data = new Uint8Array(randomBytes(n));
      expect(bytesToBase64(data)).toBe(Buffer.from(data).toString('base64'));
      expect(base64ToBytes(bytesToBase64(data))).toEqual(data);
    }
  });
});
