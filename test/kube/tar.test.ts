import { describe, expect, it } from 'vitest';
import { readTar, writeTar } from './tar.ts';

const enc = new TextEncoder();

describe('ustar', () => {
  it('round-trips files and directories, long names through the prefix field', () => {
    const long = `${'d'.repeat(90)}/${'e'.repeat(60)}/file.txt`;
    const entries = [
      { name: 'tmp/dir' },
      { name: 'tmp/dir/a.txt', data: enc.encode('hello\n') },
      { name: long, data: new Uint8Array(1025) },
    ];
    const archive = writeTar(entries);
    expect(archive.length % 512).toBe(0);
    expect(readTar(archive)).toEqual(entries);
  });

  it('refuses a corrupt header and a truncated member', () => {
    const archive = writeTar([{ name: 'a', data: enc.encode('x'.repeat(600)) }]);
    const corrupt = archive.slice();
    corrupt[0] = 0x62;
    expect(() => readTar(corrupt)).toThrow(/checksum/);
    expect(() => readTar(archive.subarray(0, 700))).toThrow(/unexpected end/);
  });
});
