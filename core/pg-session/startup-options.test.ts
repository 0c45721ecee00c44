import { describe, expect, it } from 'vitest';
import { startupRequest, type StartupRefusal, type StartupRequest } from './client-params.ts';
import { ALLOWED_SETTINGS, allowedSetting } from './startup-allow-list.ts';
import { optionEntries, optionSettings } from './startup-options.ts';
import { equivalentSet } from './startup-policy.ts';

type Params = Record<string, string>;
const start = (params: Params) => startupRequest({ user: 'u', ...params }, { user: 'app', database: 'db' });
const accepted = (params: Record<string, string>): StartupRequest => {
  const r = start(params);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r;
};
const refused = (params: Record<string, string>): StartupRefusal => {
  const r = start(params);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.upstream)}`);
  return r;
};

describe('startup options', () => {
  it('finds settings as the server parses its command line', () => {
    expect(optionSettings('-c a=1 --b-c=2 -cd=3 -c f\\ g=5\\ 6 -c search_path=x')).toEqual([
      { name: 'a', value: '1' },
      { name: 'b_c', value: '2' },
      { name: 'd', value: '3' },
      { name: 'f g', value: '5 6' },
      { name: 'search_path', value: 'x' },
    ]);
    expect(optionSettings('-c')).toEqual([{ name: '', value: undefined }]);
  });

  it('reports every other switch and stray argument, which set settings the gateway cannot vet', () => {
    // -B takes the next token: "-c" there is its argument, not a setting.
    expect(optionEntries('-B -c x=1')).toEqual([
      { kind: 'switch', text: '-B' },
      { kind: 'argument', text: 'x=1' },
    ]);
    // -e (European dates) then -c taking the next token.
    expect(optionEntries('-ec e=4')).toEqual([
      { kind: 'switch', text: '-e' },
      { kind: 'setting', name: 'e', value: '4' },
    ]);
    expect(optionEntries('-P -W30 stray -- -c a=1')).toEqual([
      { kind: 'switch', text: '-P' },
      { kind: 'switch', text: '-W' },
      { kind: 'argument', text: 'stray' },
      { kind: 'argument', text: '-c' },
      { kind: 'argument', text: 'a=1' },
    ]);
  });
});

describe('startup parameters: the allow-list', () => {
  it('forwards allowed settings from parameters and options, in the form and order the server applies', () => {
    const r = accepted({
      database: 'other',
      application_name: 'psql',
      datestyle: 'ISO, MDY',
      Statement_Timeout: '5s',
      options: '-c lock_timeout=1s --idle-in-transaction-session-timeout=10s -c search_path=a\\ ,b',
    });
    expect(r.upstream).toEqual({
      user: 'app',
      database: 'db',
      client_encoding: 'UTF8',
      // options first (the server reads them before the other parameters), then the rest.
      lock_timeout: '1s',
      idle_in_transaction_session_timeout: '10s',
      search_path: 'a ,b',
      application_name: 'psql',
      DateStyle: 'ISO, MDY',
      statement_timeout: '5s',
    });
    expect(r.forwarded).toEqual([
      'lock_timeout',
      'idle_in_transaction_session_timeout',
      'search_path',
      'application_name',
      'DateStyle',
      'statement_timeout',
    ]);
    // Only the ones a SET would need the policy for are checked; display settings are not.
    expect(r.checks.map((c) => c.name)).toEqual([
      'lock_timeout',
      'idle_in_transaction_session_timeout',
      'search_path',
      'statement_timeout',
    ]);
  });

  it('keeps the value the server keeps when a setting is given twice (a parameter beats options)', () => {
    const r = accepted({ search_path: 'decoy', options: '-c search_path=public -c search_path=other' });
    expect(r.upstream['search_path']).toBe('decoy');
    expect(r.checks).toEqual([{ name: 'search_path', value: 'decoy' }]);
    const o = accepted({ options: '-c search_path=public -c SEARCH_PATH=other' });
    expect(o.upstream['search_path']).toBe('other');
  });

  it('matches names as the server does: ASCII case only, `-` as `_` only inside options', () => {
    expect(accepted({ TIMEZONE: 'UTC' }).upstream['TimeZone']).toBe('UTC');
    expect(accepted({ options: '--statement-timeout=1s' }).upstream['statement_timeout']).toBe('1s');
    // A top-level name is taken as written: the server does not read `-` as `_` there.
    expect(refused({ 'statement-timeout': '1s' }).message).toContain('"statement-timeout"');
    // U+212A KELVIN SIGN lower-cases to "k" in JavaScript, never in the server.
    expect(refused({ 'wor\u212A_mem': '1MB' }).message).toContain('is not forwarded');
  });

  it('refuses anything not on the list, naming it and saying what to do', () => {
    for (const [params, name] of [
      [{ work_mem2: '1' }, '"work_mem2"'],
      [{ log_statement: 'none' }, '"log_statement"'],
      [{ session_replication_role: 'replica' }, '"session_replication_role"'],
      [{ options: '-c log_min_messages=panic' }, '"log_min_messages"'],
      [{ options: '-c escape_string_warning=off' }, '"escape_string_warning"'],
      [{ Options: '-c statement_timeout=1' }, '"Options"'],
      [{ DATABASE: 'x' }, '"DATABASE"'],
    ] as const) {
      const r = refused(params);
      expect(r.message, JSON.stringify(params)).toContain(name);
      expect(r.message).toMatch(/is not forwarded by Postern/);
      expect(r.hint).toMatch(/with SET after connecting/);
    }
    for (const role of <Params[]>[
      { role: 'admin' },
      { options: '-c role=admin' },
      { session_authorization: 'postgres' },
    ]) {
      expect(refused(role).hint).toMatch(/SET ROLE after connecting/);
    }
  });

  it("refuses a search_path that would put another schema's operators ahead of pg_catalog's", () => {
    for (const search_path of ['evil, pg_catalog', '"$user", pg_catalog, public', 'public,PG_CATALOG']) {
      expect(refused({ search_path }).message, search_path).toMatch(
        /^startup parameter search_path refused: it puts pg_catalog after another schema/,
      );
    }
    expect(refused({ options: '-c search_path=evil,pg_catalog' }).message).toMatch(/pg_catalog/);
    for (const search_path of ['evil, public', 'pg_catalog, evil', '"PG_CATALOG", x', '', '"unclosed']) {
      expect(accepted({ search_path }).upstream['search_path'], search_path).toBe(search_path);
    }
  });

  it('refuses switches that set settings under other names, and stray arguments', () => {
    for (const options of ['-e', '-P', '-W 30', '-B 8', '-S 100000', '-d 5', 'stray', '-fs']) {
      expect(refused({ options }).message, options).toMatch(
        /^startup option "-\w*" is not supported|"stray"/,
      );
    }
    expect(refused({ options: '-c statement_timeout' }).message).toMatch(/has no value/);
  });

  it('refuses settings that change how the server reads SQL, and accepts the values it already reads with', () => {
    for (const p of <Params[]>[
      { options: '-c standard_conforming_strings=off' },
      { options: '--standard-conforming-strings=off' },
      { standard_conforming_strings: 'off' },
      { client_encoding: 'SJIS' },
      { client_encoding: 'LATIN1' },
      { options: '-c client_encoding=GBK' },
      { backslash_quote: 'off' },
    ]) {
      expect(refused(p).message, JSON.stringify(p)).toMatch(
        /(standard_conforming_strings|client_encoding|backslash_quote) refused: setting/,
      );
    }
    // What JDBC, psycopg2, asyncpg, node-postgres and psql send: accepted, never forwarded (the
    // gateway sets client_encoding itself; the server's defaults are the rest).
    for (const p of <Params[]>[
      { client_encoding: 'UTF8' },
      { client_encoding: "'utf-8'" },
      { client_encoding: 'unicode' },
      { client_encoding: 'SQL_ASCII' },
      { standard_conforming_strings: 'on' },
      { backslash_quote: 'safe_encoding' },
    ]) {
      expect(accepted(p).upstream, JSON.stringify(p)).toEqual({
        user: 'app',
        database: 'db',
        client_encoding: 'UTF8',
      });
    }
  });

  it('handles replication and protocol options as the protocol requires', () => {
    for (const replication of ['true', 'database', 'on', '1', 'yes', 'bogus']) {
      expect(refused({ replication }).message).toMatch(/replication connections are not supported/);
    }
    for (const replication of ['false', 'off', '0', 'no']) {
      expect(accepted({ replication }).forwarded).toEqual([]);
    }
    const r = accepted({ '_pq_.compression': 'on', '_pq_.other': 'x', application_name: 'a' });
    expect(r.unsupportedOptions).toEqual(['_pq_.compression', '_pq_.other']);
    expect(r.upstream).not.toHaveProperty('_pq_.compression');
  });

  it('bounds how many settings one client may ask for and how much of a name it quotes back', () => {
    const options = Array.from({ length: 65 }, () => '-c statement_timeout=1').join(' ');
    expect(refused({ options }).message).toMatch(/too many startup settings/);
    const long = 'x'.repeat(5000);
    const r = refused({ [long]: '1' });
    expect(r.message.length).toBeLessThan(200);
  });

  it('gives every allow-list entry a reason, and only settings that are not parse-changing', () => {
    for (const s of ALLOWED_SETTINGS) {
      expect(s.why.length, s.name).toBeGreaterThan(10);
      expect(['client_encoding', 'standard_conforming_strings', 'backslash_quote', 'role']).not.toContain(
        s.name.toLowerCase(),
      );
    }
    expect(allowedSetting('DATESTYLE')?.name).toBe('DateStyle');
  });
});

describe('a startup setting as the SET it amounts to', () => {
  it('writes the value as a literal, and search_path as the list the server splits', () => {
    expect(equivalentSet({ name: 'statement_timeout', value: "5s'; DROP TABLE x; --" })).toBe(
      "SET statement_timeout TO '5s''; DROP TABLE x; --'",
    );
    expect(equivalentSet({ name: 'search_path', value: 'Decoy, "My Schema",  public' })).toBe(
      "SET search_path TO 'decoy', 'My Schema', 'public'",
    );
    expect(equivalentSet({ name: 'search_path', value: '' })).toBe(
      "SELECT pg_catalog.set_config('search_path', '', false)",
    );
  });
});
