import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { PROJECT_ROOT } from '../daemon/config';

const run = promisify(execFile);

/** The entries of a zip written by scripts/package-plugin.mjs (local headers in order, deflate or stored). */
function unzip(zip: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const method = zip.readUInt16LE(at + 8);
    const size = zip.readUInt32LE(at + 18);
    const nameLength = zip.readUInt16LE(at + 26);
    const extra = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 30, at + 30 + nameLength);
    const data = zip.subarray(at + 30 + nameLength + extra, at + 30 + nameLength + extra + size);
    out.set(name, method === 8 ? inflateRawSync(data) : data);
    at += 30 + nameLength + extra + size;
  }
  return out;
}

test('the .ccx holds no source map and no sourceMappingURL pointing at one', async () => {
  const { stdout } = await run(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'package-plugin.mjs')], { cwd: PROJECT_ROOT });
  const ccx = path.join(PROJECT_ROOT, stdout.split(':')[0]!);
  const entries = unzip(fs.readFileSync(ccx));
  expect([...entries.keys()]).toContain('manifest.json');
  const scripts = [...entries].filter(([name]) => /\.(js|css)$/.test(name));
  expect(scripts.length).toBeGreaterThan(0);
  for (const [name, bytes] of scripts) expect([name, bytes.toString('utf8')]).not.toEqual([name, expect.stringMatching(/sourceMappingURL/)]);
  expect([...entries.keys()].filter((n) => n.endsWith('.map'))).toEqual([]);
}, 60_000);
