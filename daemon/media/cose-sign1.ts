import { sign, type KeyObject } from 'node:crypto';

/** A value of the CBOR subset a COSE_Sign1 needs (RFC 8949): integers, text, bytes, arrays, maps, null. */
type Cbor = number | string | Uint8Array | null | Cbor[] | Map<number | string, Cbor>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = (major << 5) | 26;
  head.writeUInt32BE(length, 1);
  return head;
}

/** Deterministic CBOR for the values above (shortest heads, definite lengths). */
function cbor(value: Cbor): Buffer {
  if (value === null) return Buffer.from([0xf6]);
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value, 'utf8')]);
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([cborHead(4, value.length), ...value.map(cbor)]);
  return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

// COSE labels (RFC 9052, RFC 9360): alg in the protected header, ES256 = -7, x5chain = 33; COSE_Sign1's tag is 18.
const ALG = 1;
const ES256 = -7;
const X5CHAIN = 33;
const COSE_SIGN1_TAG = 0xd2;
// A "pad" entry costs its 4-byte key and a byte string head of 1 to 3 bytes besides its zeros.
const PAD_KEY_BYTES = 4;

/**
 * A C2PA claim signature: a tagged COSE_Sign1 over `claim` with ES256 (P-256, SHA-256, r‖s), the certificate in the
 * protected header's x5chain and the payload detached, exactly `size` bytes long. c2pa-wasm's signer callback must
 * return the whole COSE_Sign1 (its SignerDefinition has no certificate field), hence this encoder. C2PA reserves the
 * signature box before signing, so the unprotected header is filled with a zero `pad` as c2pa-rs does.
 */
export function coseSign1(claim: Uint8Array, signer: { privateKey: KeyObject; certificateDer: Uint8Array }, size: number): Uint8Array {
  const protectedHeader = cbor(new Map<number, Cbor>([[ALG, ES256], [X5CHAIN, signer.certificateDer]]));
  const toBeSigned = cbor(['Signature1', protectedHeader, new Uint8Array(0), claim]);
  const signature = sign('sha256', toBeSigned, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  const encode = (pad: number | null) => {
    const unprotected = new Map<string, Cbor>(pad === null ? [] : [['pad', new Uint8Array(pad)]]);
    return Buffer.concat([Buffer.from([COSE_SIGN1_TAG]), cbor([protectedHeader, unprotected, null, signature])]);
  };
  const bare = encode(null).length;
  for (let padHead = 1; padHead <= 3; padHead++) {
    const pad = size - bare - PAD_KEY_BYTES - padHead;
    if (pad >= 0 && cborHead(2, pad).length === padHead) return encode(pad);
  }
  throw new Error(`a COSE signature of ${bare} bytes does not fit the ${size} bytes reserved for it`);
}
