/**
 * A small baseline JPEG encoder for step previews (4:4:4, the standard tables of ITU T.81 Annex K). jpeg-js builds
 * its Huffman and colour tables on every call (about 20–30 ms even for a 32x16 frame); here they are built once
 * per quality, so a preview costs about a millisecond at native size. Input is one frame of model values
 * [3, H, W] in [-1, 1].
 */
export class PreviewJpegEncoder {
  private readonly quantLuma = new Float32Array(64);
  private readonly dctRows = new Float32Array(64);
  private readonly quantised = new Int32Array(64);
  private readonly quantChroma = new Float32Array(64);
  private readonly tables: { dcLuma: HuffmanTable; acLuma: HuffmanTable; dcChroma: HuffmanTable; acChroma: HuffmanTable };
  private readonly header: (width: number, height: number) => number[];

  constructor(quality: number) {
    const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    const dqt: number[] = [];
    for (const [base, into, id] of [[LUMA_QUANT, this.quantLuma, 0], [CHROMA_QUANT, this.quantChroma, 1]] as const) {
      dqt.push(id);
      for (let k = 0; k < 64; k++) {
        const q = Math.min(255, Math.max(1, Math.floor((base[ZIGZAG[k]!]! * scale + 50) / 100)));
        into[ZIGZAG[k]!] = q;
        dqt.push(q);
      }
    }
    this.tables = {
      dcLuma: huffmanTable(DC_LUMA_COUNTS, DC_VALUES),
      acLuma: huffmanTable(AC_LUMA_COUNTS, AC_LUMA_VALUES),
      dcChroma: huffmanTable(DC_CHROMA_COUNTS, DC_VALUES),
      acChroma: huffmanTable(AC_CHROMA_COUNTS, AC_CHROMA_VALUES),
    };
    const dht = [
      [0x00, DC_LUMA_COUNTS, DC_VALUES],
      [0x10, AC_LUMA_COUNTS, AC_LUMA_VALUES],
      [0x01, DC_CHROMA_COUNTS, DC_VALUES],
      [0x11, AC_CHROMA_COUNTS, AC_CHROMA_VALUES],
    ].flatMap(([id, counts, values]) => [id as number, ...(counts as number[]), ...(values as number[])]);
    const segment = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
    this.header = (width, height) => [
      0xff, 0xd8,
      ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // JFIF 1.1, aspect 1:1
      ...segment(0xdb, dqt),
      ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]),
      ...segment(0xc4, dht),
      ...segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]),
    ];
  }

  encode(planar: Float32Array, width: number, height: number): Uint8Array {
    const out = new ByteWriter(this.header(width, height));
    const pixels = width * height;
    const y = new Float32Array(64);
    const cb = new Float32Array(64);
    const cr = new Float32Array(64);
    const coefficients = new Float32Array(64);
    const dc = [0, 0, 0];
    for (let by = 0; by < height; by += 8) {
      for (let bx = 0; bx < width; bx += 8) {
        // One 8x8 block of each component; edge blocks repeat the last row and column.
        for (let j = 0; j < 8; j++) {
          const row = Math.min(by + j, height - 1) * width;
          for (let i = 0; i < 8; i++) {
            const p = row + Math.min(bx + i, width - 1);
            const r = toByte(planar[p]!);
            const g = toByte(planar[pixels + p]!);
            const b = toByte(planar[2 * pixels + p]!);
            y[j * 8 + i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
            cb[j * 8 + i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
            cr[j * 8 + i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
          }
        }
        dc[0] = this.block(out, y, coefficients, this.quantLuma, dc[0]!, this.tables.dcLuma, this.tables.acLuma);
        dc[1] = this.block(out, cb, coefficients, this.quantChroma, dc[1]!, this.tables.dcChroma, this.tables.acChroma);
        dc[2] = this.block(out, cr, coefficients, this.quantChroma, dc[2]!, this.tables.dcChroma, this.tables.acChroma);
      }
    }
    return out.finish();
  }

  /** DCT, quantisation and Huffman coding of one block; returns its DC value for the next block's difference. */
  private block(out: ByteWriter, samples: Float32Array, coefficients: Float32Array, quant: Float32Array, previousDc: number, dcTable: HuffmanTable, acTable: HuffmanTable): number {
    forwardDct(samples, coefficients, this.dctRows);
    const zigzag = this.quantised;
    for (let k = 0; k < 64; k++) zigzag[k] = Math.round(coefficients[ZIGZAG[k]!]! / quant[ZIGZAG[k]!]!);
    const dc = zigzag[0]!;
    out.writeValue(dc - previousDc, dcTable, 0);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const value = zigzag[k]!;
      if (value === 0) {
        run++;
        continue;
      }
      for (; run >= 16; run -= 16) out.writeCode(acTable, 0xf0); // ZRL: sixteen zeros
      out.writeValue(value, acTable, run << 4);
      run = 0;
    }
    if (run > 0) out.writeCode(acTable, 0x00); // EOB
    return dc;
  }
}

type HuffmanTable = { codes: Uint16Array; lengths: Uint8Array };

/** Canonical Huffman codes from the counts of codes of each length 1..16 (T.81 Annex C). */
function huffmanTable(counts: number[], values: number[]): HuffmanTable {
  const codes = new Uint16Array(256);
  const lengths = new Uint8Array(256);
  let code = 0;
  let v = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < counts[length - 1]!; i++) {
      codes[values[v]!] = code++;
      lengths[values[v++]!] = length;
    }
    code <<= 1;
  }
  return { codes, lengths };
}

/** Entropy-coded bytes with 0xFF stuffing, after a fixed header. */
class ByteWriter {
  private bytes: Uint8Array;
  private length: number;
  private bits = 0;
  private bitCount = 0;

  constructor(header: number[]) {
    this.bytes = new Uint8Array(Math.max(4096, header.length * 2));
    this.bytes.set(header);
    this.length = header.length;
  }

  writeCode(table: HuffmanTable, symbol: number): void {
    this.writeBits(table.codes[symbol]!, table.lengths[symbol]!);
  }

  /** A coefficient as (size category | run) symbol plus its extra bits. */
  writeValue(value: number, table: HuffmanTable, runNibble: number): void {
    const magnitude = Math.abs(value);
    let size = 0;
    while (magnitude >> size) size++;
    this.writeCode(table, runNibble | size);
    if (size) this.writeBits(value < 0 ? value + (1 << size) - 1 : value, size);
  }

  private writeBits(value: number, count: number): void {
    this.bits = (this.bits << count) | (value & ((1 << count) - 1));
    this.bitCount += count;
    while (this.bitCount >= 8) {
      const byte = (this.bits >> (this.bitCount - 8)) & 0xff;
      this.push(byte);
      if (byte === 0xff) this.push(0);
      this.bitCount -= 8;
    }
    this.bits &= (1 << this.bitCount) - 1;
  }

  private push(byte: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = byte;
  }

  finish(): Uint8Array {
    if (this.bitCount > 0) this.writeBits(0x7f, 8 - this.bitCount); // pad with ones
    this.push(0xff);
    this.push(0xd9);
    return this.bytes.slice(0, this.length);
  }
}

const toByte = (v: number) => (v <= -1 ? 0 : v >= 1 ? 255 : (v + 1) * 127.5);

/** DCT basis: COS[u * 8 + x] = c(u)/2 · cos((2x + 1)uπ/16), c(0) = 1/√2. */
const COS = Float32Array.from({ length: 64 }, (_, k) => {
  const u = k >> 3;
  const x = k & 7;
  return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** 2-D 8x8 DCT-II, rows then columns (`rows` is scratch); `block` is row-major [y][x], `out[v * 8 + u]`. */
function forwardDct(block: Float32Array, out: Float32Array, rows: Float32Array): void {
  for (let y = 0; y < 8; y++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let x = 0; x < 8; x++) sum += COS[u * 8 + x]! * block[y * 8 + x]!;
      rows[y * 8 + u] = sum;
    }
  }
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let sum = 0;
      for (let y = 0; y < 8; y++) sum += COS[v * 8 + y]! * rows[y * 8 + u]!;
      out[v * 8 + u] = sum;
    }
  }
}

/** ZIGZAG[k] = row-major index of the k-th coefficient in zig-zag order, walked along anti-diagonals. */
const ZIGZAG: number[] = (() => {
  const order: number[] = [];
  for (let d = 0; d < 15; d++) {
    const cells: number[] = [];
    for (let row = Math.max(0, d - 7); row <= Math.min(7, d); row++) cells.push(row * 8 + (d - row));
    order.push(...(d % 2 === 0 ? cells.reverse() : cells));
  }
  return order;
})();

// ITU T.81 Annex K: quantisation tables (K.1, K.2, row-major) and Huffman tables (K.3–K.6).
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array<number>(32).fill(99),
];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const DC_LUMA_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_COUNTS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const AC_LUMA_COUNTS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_CHROMA_COUNTS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_LUMA_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];
const AC_CHROMA_VALUES = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
  0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
  0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
  0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
  0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
  0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
  0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];
