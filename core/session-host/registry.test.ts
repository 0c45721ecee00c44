import { describe, expect, it } from 'vitest';
import { ProtocolRegistry } from './registry.ts';
import type { ProtocolModule } from './protocol.ts';

const stub = (protocol: string): ProtocolModule => ({
  protocol,
  prepare: () => Promise.reject(new Error('not used')),
});

describe('the protocol registry', () => {
  it('finds a module by its protocol and refuses one it does not serve', () => {
    const r = new ProtocolRegistry([stub('postgres'), stub('ssh')]);
    expect(r.get('ssh').protocol).toBe('ssh');
    expect(r.protocols).toEqual(['postgres', 'ssh']);
    expect(() => r.get('kubernetes')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('refuses two modules for one protocol when it is built', () => {
    expect(() => new ProtocolRegistry([stub('postgres'), stub('postgres')])).toThrow(/two protocol modules/);
  });
});
