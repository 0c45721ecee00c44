import { describe, expect, it } from 'vitest';
import { maskSecretList, measureSecretMasking, secretListBody } from './kube-secrets.ts';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('the masked Secret list bench row', () => {
  it('masks every value of the list it measures, the last-applied annotations included', () => {
    const body = secretListBody(10);
    const clear = JSON.parse(text(body)) as { items: Array<{ data: Record<string, string> }> };
    expect(text(body)).toContain('pw-0-s3cr3t');
    const { body: out, maskedValues } = maskSecretList(body);
    const masked = JSON.parse(text(out)) as { items: Array<{ data: Record<string, string> }> };
    // 4 data values per Secret, and 2 stringData values in each of the 5 annotations.
    expect(maskedValues).toBe(10 * 4 + 5 * 2);
    for (const [i, item] of masked.items.entries())
      for (const [k, v] of Object.entries(item.data)) {
        expect(v).toBe(Buffer.from('[REDACTED]').toString('base64'));
        expect(text(out)).not.toContain(clear.items[i]!.data[k]!);
      }
    expect(text(out)).not.toMatch(/pw-\d+-s3cr3t|user-\d+/);
  });

  it('counts the input it masked: whole lists, at least the megabytes asked', () => {
    const r = measureSecretMasking(0.5, 100);
    expect(r.secrets).toBe(100);
    expect(r.maskedValues).toBe(100 * 4 + 50 * 2);
    expect(r.megabytes).toBeGreaterThanOrEqual(0.5);
    expect(r.megabytes / r.listMegabytes).toBe(Math.ceil(0.5 / r.listMegabytes));
    expect(r.mbPerSecond).toBeGreaterThan(0);
  });
});
