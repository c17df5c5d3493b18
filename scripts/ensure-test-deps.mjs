// Makes sure the Debian packages the tests use are present (`npm test` runs this first):
// chromium for the panel's UI test, python3-torch (+ openblas, numpy, onnx) for the model's training/export test
// and the ShapesWorld renderer/judge fixtures. Installs them with apt-get when running as root, else says how.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PACKAGES = ['chromium', 'python3-torch', 'python3-numpy', 'python3-onnx', 'libopenblas0-pthread'];

function installed(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('install ok installed');
  } catch {
    return false;
  }
}

if (!existsSync('/usr/bin/dpkg-query')) {
  console.error('ensure-test-deps: not a Debian system; install chromium and Python 3 with torch, numpy and onnx yourself.');
  process.exit(0);
}
const missing = PACKAGES.filter((p) => !installed(p));
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0) {
  console.error(`ensure-test-deps: missing Debian packages: ${missing.join(' ')}\n  run: sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`ensure-test-deps: installing ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
