/**
 * Startup parameters through a whole PgSession (byte builders for the client and the target):
 * what reaches the target's StartupMessage, what the client is told, and the policy's say.
 */
import { describe, expect, it } from 'vitest';
import { cat, msg, startup } from '../../test/support/pg-bytes.ts';
import { sessionHarness } from '../../test/support/session-harness.ts';
import { cstring as cstr, int32, parseErrorFields } from '../pg/messages.ts';
import { parseStartupPacket } from '../pg/startup.ts';
import type { StatementChecker, StatementVerdict } from './statement-flow.ts';
import type { PgSessionConfig } from './types.ts';

const authOk = msg('R', int32(0));
const error = (code: string, message: string) =>
  msg('E', cat(cstr('SFATAL'), cstr(`C${code}`), cstr(`M${message}`), new Uint8Array([0])));

function harness(extra: Partial<PgSessionConfig> = {}) {
  const h = sessionHarness(extra);
  const { session, toUpstream, clientFrames } = h;
  session.upstreamOpen('pw');
  const targetParams = () => {
    const p = parseStartupPacket(toUpstream[0]!.subarray(4));
    return p.kind === 'startup' ? p.params : undefined;
  };
  const fatal = () => {
    const e = clientFrames().find((f) => f.type === 0x45);
    return e ? parseErrorFields(e.body) : undefined;
  };
  return { ...h, targetParams, fatal };
}

/** A checker that records what it was asked and refuses `SET` of the names in `deny`. */
function recordingChecker(deny: string[] = [], hold: string[] = []) {
  const asked: Array<{ sql: string; protocol: string }> = [];
  const checker: StatementChecker = {
    check(sql, protocol): StatementVerdict {
      asked.push({ sql, protocol });
      if (hold.some((n) => sql.includes(` ${n} `))) {
        return { allowed: false, message: 'waits for approval', hold: {} };
      }
      if (deny.some((n) => sql.includes(` ${n} `))) {
        return { allowed: false, message: 'Postern policy denied sql:session on connection "c"' };
      }
      return { allowed: true, message: '' };
    },
  };
  return { asked, checker };
}

describe('startup parameters through a session', () => {
  it('forwards statement_timeout from a parameter and from options (node-postgres, PGOPTIONS)', () => {
    const h = harness();
    h.session.clientData(
      startup({
        user: 'x',
        database: 'y',
        statement_timeout: '5000',
        options: '-c lock_timeout=2s --search-path=decoy',
        client_encoding: 'UTF8',
      }),
    );
    expect(h.ended).toEqual([]);
    expect(h.targetParams()).toEqual({
      user: 'app',
      database: 'appdb',
      client_encoding: 'UTF8',
      lock_timeout: '2s',
      search_path: 'decoy',
      statement_timeout: '5000',
    });
  });

  it('refuses a parameter it does not forward with a FATAL that names it, and sends nothing on', () => {
    const h = harness();
    h.session.clientData(startup({ user: 'x', options: '-c log_statement=none' }));
    const err = h.fatal();
    expect(err?.['S']).toBe('FATAL');
    expect(err?.['M']).toContain('"log_statement"');
    expect(err?.['H']).toMatch(/SET after connecting/);
    expect(h.toUpstream).toEqual([]);
    expect(h.ended[0]?.kind).toBe('startup-refused');
  });

  it('refuses a __proto__ parameter rather than dropping it unseen, and sends nothing on', () => {
    // A literal `{ __proto__: ... }` would set the prototype: JSON.parse makes it an own key.
    const params = JSON.parse('{"user":"x","__proto__":"y"}') as Record<string, string>;
    expect(() => parseStartupPacket(startup(params).subarray(4))).toThrow(/__proto__/);
    const h = harness();
    h.session.clientData(startup(params));
    expect(h.toUpstream).toEqual([]);
    expect(h.ended).toHaveLength(1);
  });

  it('asks the policy about each setting as the SET it amounts to, and refuses what it refuses', () => {
    const { asked, checker } = recordingChecker(['statement_timeout']);
    const h = harness({ checker });
    h.session.clientData(
      startup({ user: 'x', application_name: 'app', search_path: 'a, b', statement_timeout: '5s' }),
    );
    // application_name is not the policy's business; the others are, as SETs, marked as startup.
    expect(asked).toEqual([
      { sql: "SET search_path TO 'a', 'b'", protocol: 'startup' },
      { sql: "SET statement_timeout TO '5s'", protocol: 'startup' },
    ]);
    const err = h.fatal();
    expect(err?.['C']).toBe('42501');
    expect(err?.['M']).toContain('statement_timeout');
    expect(err?.['M']).toContain('Postern policy denied sql:session');
    expect(h.toUpstream).toEqual([]);
  });

  it('refuses a setting that would need approval rather than wait at startup', () => {
    const { checker } = recordingChecker([], ['work_mem']);
    const h = harness({ checker });
    h.session.clientData(startup({ user: 'x', work_mem: '64MB' }));
    expect(h.fatal()?.['M']).toMatch(/work_mem refused: it needs approval/);
    expect(h.fatal()?.['H']).toMatch(/SET it after connecting/);
  });

  it('answers protocol options and a newer protocol 3 minor with NegotiateProtocolVersion, first', () => {
    const h = harness();
    h.session.clientData(startup({ user: 'x', '_pq_.compression': 'zstd' }, (3 << 16) | 2));
    const first = h.clientFrames()[0]!;
    expect(String.fromCharCode(first.type)).toBe('v');
    const view = new DataView(first.body.buffer, first.body.byteOffset);
    expect(view.getInt32(0)).toBe(0); // newest minor: 3.0
    expect(view.getInt32(4)).toBe(1);
    expect(new TextDecoder().decode(first.body.subarray(8))).toBe('_pq_.compression\0');
    expect(h.ended).toEqual([]);
    expect(h.targetParams()).toEqual({ user: 'app', database: 'appdb', client_encoding: 'UTF8' });
  });

  it("relays the target's refusal of a forwarded setting's value in its own words", async () => {
    const h = harness();
    h.session.clientData(startup({ user: 'x', statement_timeout: 'soon' }));
    h.session.upstreamData(
      cat(authOk, error('22023', 'invalid value for parameter "statement_timeout": "soon"')),
    );
    await new Promise((r) => setTimeout(r, 0));
    const err = h.fatal();
    expect(err?.['C']).toBe('22023');
    expect(err?.['M']).toContain('invalid value for parameter "statement_timeout": "soon"');
  });
});
