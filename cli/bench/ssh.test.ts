import { describe, expect, it } from 'vitest';
import type { Stack } from '../dev/stack.ts';
import { measureSsh, sshTable } from './ssh.ts';

const opts = { dir: '/nonexistent', megabytes: 1, samples: 1, say: () => undefined };

describe('SSH bench rows', () => {
  it('say why they were skipped when the stack has no demo sshd, instead of failing', async () => {
    const why = '/usr/sbin/sshd not found (install OpenSSH server: sudo apt-get install -y openssh-server)';
    const r = await measureSsh({ ssh: { unavailable: why } } as Stack, 'token', opts);
    expect(r).toEqual({ unavailable: why });
    expect(sshTable(r)).toContain(`SSH rows skipped: ${why}`);
  });

  it('say so when the stack was started without SSH', async () => {
    const r = await measureSsh({ ssh: null } as Stack, 'token', opts);
    expect(sshTable(r)).toContain('SSH rows skipped: the stack was started without SSH');
  });
});
