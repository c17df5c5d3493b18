import { createHash, randomBytes } from 'node:crypto';
import { ClipAssembler } from './clip-assembler';

function chunks(jobId: string, data: Buffer, size: number, sha256 = createHash('sha256').update(data).digest('hex')) {
  const count = Math.max(1, Math.ceil(data.length / size));
  return Array.from({ length: count }, (_, index) => ({
    type: 'clip' as const,
    jobId,
    index,
    count,
    data: data.subarray(index * size, (index + 1) * size).toString('base64'),
    bytes: data.length,
    sha256,
    mime: 'video/mp4',
    fileName: `longshot-${jobId}.mp4`,
  }));
}

describe('ClipAssembler', () => {
  it('returns the file after its last chunk, interleaved with another job', () => {
    const a = randomBytes(2500);
    const b = randomBytes(10);
    const assembler = new ClipAssembler();
    const [a0, a1, a2] = chunks('a', a, 1000);
    expect(assembler.add(a0!)).toBeNull();
    const bFile = assembler.add(chunks('b', b, 1000)[0]!);
    expect(Buffer.from(bFile!.bytes).equals(b)).toBe(true);
    expect(assembler.add(a1!)).toBeNull();
    const file = assembler.add(a2!)!;
    expect(file.fileName).toBe('longshot-a.mp4');
    expect(Buffer.from(file.bytes).equals(a)).toBe(true);
  });

  it('refuses a clip whose hash does not match, naming the job and the fix', () => {
    const assembler = new ClipAssembler();
    const [only] = chunks('x', randomBytes(100), 1000, 'f'.repeat(64));
    expect(() => assembler.add(only!)).toThrow(/clip of job x arrived damaged .*retry the job/);
  });

  it('refuses a repeated chunk and starts over at a new chunk 0', () => {
    const assembler = new ClipAssembler();
    const data = randomBytes(300);
    const parts = chunks('y', data, 100);
    assembler.add(parts[0]!);
    assembler.add(parts[1]!);
    expect(() => assembler.add(parts[1]!)).toThrow(/chunk 1 of 3 is out of order/);
    for (const p of parts.slice(0, 2)) assembler.add(p);
    expect(Buffer.from(assembler.add(parts[2]!)!.bytes).equals(data)).toBe(true);
  });
});
