import { sign, verify, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSigningIdentity, SIGNING_DIR } from './signing-identity';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-identity-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// Each install makes its certificate once, with a random serial number: every draw must give a certificate that
// parses. A 16-byte serial whose first byte is 0 and second < 0x80 is not minimal DER and broke 1 in about 256.
test('400 fresh installs each make a certificate that parses and matches its key', () => {
  const message = Buffer.from('a claim to sign');
  for (let i = 0; i < 400; i++) {
    const identity = loadSigningIdentity(path.join(root, String(i)));
    const certificate = new X509Certificate(identity.certificateDer);
    expect(certificate.serialNumber).toMatch(/^(?!00)[0-7][0-9A-F]{31}$/); // 16 bytes, positive, minimal DER
    expect(certificate.verify(certificate.publicKey)).toBe(true); // self-signed
    expect(verify('sha256', message, certificate.publicKey, sign('sha256', message, identity.privateKey))).toBe(true);
    expect(identity.certificatePem).toBe(fs.readFileSync(identity.certificatePath, 'utf8'));
  }
});

test('a key that is not the certificate\'s is refused, naming both files and the fix', () => {
  const [a, b] = ['mismatch-a', 'mismatch-b'].map((name) => path.join(root, name));
  loadSigningIdentity(a!);
  loadSigningIdentity(b!);
  fs.copyFileSync(path.join(a!, SIGNING_DIR, 'key.pem'), path.join(b!, SIGNING_DIR, 'key.pem'));
  expect(() => loadSigningIdentity(b!)).toThrow(/cert\.pem is not the certificate of .*key\.pem; delete .*c2pa and start again/);
});
