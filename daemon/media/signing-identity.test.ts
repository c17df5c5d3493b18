import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSigningIdentity } from './signing-identity';

// Each install makes its certificate once, with a random serial number: every draw must give a certificate that
// parses. A 16-byte serial whose first byte is 0 and second < 0x80 is not minimal DER and broke 1 in about 256.
test('400 fresh installs each make a certificate that parses and matches its key', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-identity-'));
  try {
    for (let i = 0; i < 400; i++) {
      const identity = loadSigningIdentity(path.join(root, String(i)));
      expect(identity.certificateDer.length).toBeGreaterThan(300);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
