// `npm run package:plugin`: builds the panel, then zips plugin/dist/ (without source maps) into
// dist/longshot-premiere-<version>.ccx, the package the UXP Developer Tool or Creative Cloud installs.
// The zip is written here (stored entries + deflate from node:zlib) so packaging needs no extra dependency.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
await import(new URL('../plugin/build.mjs', import.meta.url).href);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function files(dir, prefix = '') {
  return readdirSync(dir).sort().flatMap((name) => {
    const full = path.join(dir, name);
    const rel = prefix + name;
    return statSync(full).isDirectory() ? files(full, rel + '/') : name.endsWith('.map') ? [] : [[rel, withoutMapComment(name, readFileSync(full))]];
  });
}

/** The maps stay out of the .ccx, so their `sourceMappingURL` comments go too (they would point at nothing). */
function withoutMapComment(name, bytes) {
  if (!/\.(js|css)$/.test(name)) return bytes;
  return Buffer.from(bytes.toString('utf8').replace(/\n?(\/\/# sourceMappingURL=\S+|\/\*# sourceMappingURL=\S+ \*\/)\s*$/, '\n'));
}

/** A zip archive of [name, bytes] entries (deflate, UTF-8 names, no timestamps so builds are reproducible). */
function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data, { level: 9 });
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(0x0800, 6);
    header.writeUInt16LE(8, 8);
    header.writeUInt16LE(0x21, 12); // 1980-01-01
    header.writeUInt32LE(crc32(data), 14);
    header.writeUInt32LE(packed.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    header.copy(central, 8, 6, 26);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(header, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += header.length + nameBytes.length + packed.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
}

const manifest = JSON.parse(readFileSync(path.join(root, 'plugin/dist/manifest.json'), 'utf8'));
const out = path.join(root, 'dist', `longshot-premiere-${manifest.version}.ccx`);
mkdirSync(path.dirname(out), { recursive: true });
const entries = files(path.join(root, 'plugin/dist'));
writeFileSync(out, zip(entries));
process.stdout.write(`${path.relative(root, out)}: ${entries.length} files (${entries.map(([n]) => n).join(', ')})\n`);
