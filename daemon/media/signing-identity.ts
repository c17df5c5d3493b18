import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, AuthorityKeyIdentifier, BasicConstraints, Certificate, ExtendedKeyUsage,
  Extension, Extensions, KeyIdentifier, KeyUsage, KeyUsageFlags, Name, RelativeDistinguishedName, SubjectKeyIdentifier, SubjectPublicKeyInfo,
  TBSCertificate, Validity, Version, id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage,
  id_ce_subjectKeyIdentifier, id_kp_emailProtection,
} from '@peculiar/asn1-x509';
import { LongshotError } from '../../shared/errors';

/** The install's Content Credentials signer: a P-256 key and its self-signed X.509 certificate. */
export interface SigningIdentity {
  privateKey: KeyObject;
  certificateDer: Buffer;
  certificatePem: string;
  /** Where the certificate lies, for a verifier that should trust this install. */
  certificatePath: string;
}

/** The folder inside the data folder that holds `key.pem` (PKCS #8) and `cert.pem`. */
export const SIGNING_DIR = 'c2pa';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ID_AT_COMMON_NAME = '2.5.4.3';
const ID_AT_ORGANIZATION = '2.5.4.10';
// C2PA's preferred extended key usage (id-kp-documentSigning); emailProtection too, which older validators require.
const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const VALID_YEARS = 30;

/**
 * The install's signing identity, made once: a fresh key and certificate are written to a temporary folder and
 * renamed to `<dataDir>/c2pa`, so a concurrent first start (daemon and CLI) keeps exactly one pair. Folder 0700,
 * files 0600, like the rest of the data folder.
 */
export function loadSigningIdentity(dataDir: string, now = new Date()): SigningIdentity {
  const dir = path.join(dataDir, SIGNING_DIR);
  if (!fs.existsSync(dir)) createIdentity(dataDir, dir, now);
  const keyPath = path.join(dir, 'key.pem');
  const certificatePath = path.join(dir, 'cert.pem');
  const fix = `delete ${dir} and start again to make a new signing certificate (clips signed before keep theirs)`;
  let privateKey: KeyObject;
  let certificate: X509Certificate;
  try {
    privateKey = createPrivateKey(fs.readFileSync(keyPath));
    certificate = new X509Certificate(fs.readFileSync(certificatePath));
  } catch (err) {
    throw new LongshotError('internal', `the Content Credentials key or certificate in ${dir} cannot be read (${(err as Error).message}); ${fix}`, { cause: err });
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new LongshotError('internal', `${certificatePath} is not the certificate of ${keyPath}; ${fix}`);
  if (new Date(certificate.validTo) <= now) throw new LongshotError('internal', `the Content Credentials certificate ${certificatePath} expired on ${certificate.validTo}; ${fix}`);
  return { privateKey, certificateDer: Buffer.from(certificate.raw), certificatePem: certificate.toString(), certificatePath };
}

function createIdentity(dataDir: string, dir: string, now: Date): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const temp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(temp, { mode: 0o700 });
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const certificateDer = selfSignedCertificate(privateKey, publicKey.export({ type: 'spki', format: 'der' }), now);
    fs.writeFileSync(path.join(temp, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    fs.writeFileSync(path.join(temp, 'cert.pem'), new X509Certificate(certificateDer).toString(), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, dir);
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    // Another process made the folder first: use its pair.
    if (fs.existsSync(dir)) return;
    throw err;
  }
}

/**
 * A version 3 end-entity certificate signed by its own key, with what C2PA's certificate profile asks of a claim
 * signer (§14.5): ECDSA P-256 with SHA-256, digitalSignature key usage (critical), a document-signing extended key
 * usage, subject and authority key identifiers, not a CA.
 */
function selfSignedCertificate(privateKey: KeyObject, spkiDer: Buffer, now: Date): Buffer {
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  const keyId = new Uint8Array(createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest());
  const name = new Name([
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ID_AT_COMMON_NAME, value: new AttributeValue({ utf8String: 'Longshot on this computer' }) })]),
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ID_AT_ORGANIZATION, value: new AttributeValue({ utf8String: 'Longshot' }) })]),
  ]);
  const extension = (extnID: string, critical: boolean, value: object) => new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER: the first byte 0x01–0x7f. A 0x00 first byte (1 draw in 128) is not minimal
  // when the next is under 0x80, and OpenSSL refused such certificates: 1 first start in about 256 failed.
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALID_YEARS);
  const algorithm = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: algorithm,
    issuer: name,
    // An hour back, so a verifier whose clock is a little behind still finds it valid.
    validity: new Validity({ notBefore: new Date(now.getTime() - 3_600_000), notAfter }),
    subject: name,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([ID_KP_DOCUMENT_SIGNING, id_kp_emailProtection])),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbsCertificate));
  const signatureValue = new Uint8Array(sign('sha256', tbsDer, privateKey)).buffer;
  return Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue })));
}
