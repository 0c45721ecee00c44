import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { playback } from '../../core/ssh/asciicast-play.ts';
import { parseCastText, replay } from './recording-replay.ts';
import { TerminalFilter } from './terminal-filter.ts';

const ESC = '\x1b';
const CAST = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1700000000 }),
  JSON.stringify([0.5, 'o', '$ ']),
  JSON.stringify([1.0, 'i', 'ls\r']),
  JSON.stringify([1.1, 'o', `ls\r\n${ESC}[01;34mdir${ESC}[0m  file\r\n`]),
  JSON.stringify([1.2, 'r', '100x30']),
  'not json',
  JSON.stringify([2.0, 'x', 'unknown code']),
  JSON.stringify([31.2, 'o', `${ESC}]52;c;cm0gLXJmIH4K${ESC}\\$ `]), // OSC 52: a clipboard write
  JSON.stringify([31.3, 'm', 'recording cut: the session reached 64 MiB of recording']),
  '',
].join('\n');

describe('parseCastText', () => {
  it('reads the header and events, and reports lines it cannot read instead of throwing', () => {
    const c = parseCastText(CAST);
    expect(c.header).toMatchObject({ width: 80, height: 24 });
    expect(c.events.map((e) => e.kind)).toEqual(['o', 'i', 'o', 'r', 'o', 'm']);
    expect(c.problems).toEqual(['line 6: not JSON', 'line 7: not an asciicast event']);
    expect(c.cut).toContain('64 MiB');
    expect(parseCastText('{"version":1}\n[1,"o","x"]\n').problems).toEqual([
      'line 1: not an asciicast v2 header',
    ]);
    for (const hostile of ['[-1,"o","x"]', '[1e999,"o","x"]', '[1,"o",5]', '{"a":1}', '[1,"o"]'])
      expect(parseCastText(`${CAST.split('\n')[0]}\n${hostile}\n`).events).toEqual([]);
  });
});

describe('playback', () => {
  it('waits as recorded, scaled by --speed, with pauses cut to --max-idle', () => {
    const { events } = parseCastText(CAST);
    expect([...playback(events)].map((p) => p.delayMs)).toEqual([500, 500, 100, 100, 30000, 100]);
    expect([...playback(events, { speed: 2, maxIdle: 1 })].map((p) => p.delayMs)).toEqual([
      250, 250, 50, 50, 500, 50,
    ]);
  });
});

describe('replay', () => {
  it('plays output through the terminal filter, not input, and notes resizes, the cut and drops', async () => {
    const written: string[] = [];
    const notes: string[] = [];
    const slept: number[] = [];
    await replay(
      parseCastText(CAST),
      { maxIdle: 2 },
      {
        write: (t) => written.push(t),
        note: (t) => notes.push(t),
        sleep: async (ms) => void slept.push(ms),
      },
    );
    expect(written.join('')).toBe(`$ ls\r\n${ESC}[01;34mdir${ESC}[0m  file\r\n$ `);
    expect(slept).toEqual([500, 500, 100, 100, 2000, 100]);
    expect(notes).toEqual([
      'recording 80x24',
      'skipped line 6: not JSON',
      'skipped line 7: not an asciicast event',
      'terminal resized to 100x30',
      'recording cut here: recording cut: the session reached 64 MiB of recording',
      'end of recording (31.3 s); 1 terminal control sequences not replayed',
    ]);
  });
});

describe('TerminalFilter', () => {
  const all = (...chunks: string[]) => {
    const f = new TerminalFilter();
    return { text: chunks.map((c) => f.push(c)).join(''), dropped: f.dropped };
  };

  it('keeps text, colours, cursor moves and erasing', () => {
    const drawing = `a${ESC}[1;31mred${ESC}[0m${ESC}[2J${ESC}[10;5H${ESC}[K${ESC}7${ESC}8${ESC}(B\tb\r\n`;
    expect(all(drawing)).toEqual({ text: drawing, dropped: 0 });
  });

  it('drops what makes the terminal act or answer: OSC, DCS, APC, status requests, C1 controls', () => {
    const hostile = [
      `${ESC}]0;new title${'\x07'}`, // window title
      `${ESC}]52;c;ZXZpbA==${ESC}\\`, // clipboard write
      `${ESC}P$q"p${ESC}\\`, // DECRQSS (answered)
      `${ESC}_apc payload${ESC}\\`,
      `${ESC}[6n`, // cursor position report (answered on stdin)
      `${ESC}[c`, // device attributes (answered)
      `${ESC}[21t`, // window title report (answered)
      '\u009b6n', // 8-bit CSI
      '\u009d0;x\u009c', // 8-bit OSC ... ST
    ];
    const got = all(`x${hostile.join('')}y`);
    expect(got.text).toBe('xy');
    expect(got.dropped).toBeGreaterThanOrEqual(hostile.length);
  });

  it('recognises a sequence split anywhere across output events', () => {
    const seq = `ok${ESC}]52;c;ZXZpbA==${ESC}\\${ESC}[32mgreen${ESC}[0m`;
    for (let i = 0; i <= seq.length; i++) {
      expect(all(seq.slice(0, i), seq.slice(i)).text, `split at ${i}`).toBe(`ok${ESC}[32mgreen${ESC}[0m`);
    }
  });

  it('drops an overlong CSI instead of holding it', () => {
    expect(all(`${ESC}[${'1;'.repeat(100)}mafter`).text).toContain('after');
    expect(all(`${ESC}[${'1;'.repeat(100)}mafter`).text).not.toContain(ESC);
  });
});

describe('postern sessions replay (process, stub admin API)', () => {
  const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'bin', 'postern.mjs');
  const ID = 'ab'.repeat(32);
  const PG = 'cd'.repeat(32);
  let http: Server;
  let edge: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-replay-'));
    http = createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer adm') return res.writeHead(401).end('{}');
      res.setHeader('content-type', 'application/json');
      // An edge whose session JSON does not say the protocol: the recording decides.
      if (req.url === `/api/v1/sessions/${ID}`) return res.end(JSON.stringify({ id: ID }));
      if (req.url === `/api/v1/sessions/${PG}`) return res.end(JSON.stringify({ id: PG }));
      if (req.url === `/api/v1/sessions/${PG}/events`)
        return res.end(
          JSON.stringify({
            events: [{ seq: 1, at: 'now', kind: 'statement', outcome: 'allowed', data: { sql: 'select 1' } }],
          }),
        );
      if (req.url === `/api/v1/sessions/${ID}/recording`) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ asciicast: CAST, cut: true }));
      }
      res.writeHead(404).end('{}');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    edge = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  afterAll(() => {
    http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => {
    const id = args[0] === PG ? args.shift()! : ID;
    const child = spawn(process.execPath, [
      CLI,
      'sessions',
      'replay',
      id,
      '--edge',
      edge,
      '--token',
      'adm',
      ...args,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const [status] = await once(child, 'exit');
    return { status, stdout, stderr };
  };

  it('plays an SSH session in the terminal', async () => {
    const r = await run('--speed', '100', '--max-idle', '0.01');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`$ ls\r\n${ESC}[01;34mdir${ESC}[0m  file\r\n$ `);
    expect(r.stderr).toContain('[postern: recording cut here: recording cut');
  });

  it('writes the asciicast v2 file for asciinema with --asciicast', async () => {
    const file = join(dir, 'session.cast');
    const r = await run('--asciicast', file);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(CAST);
    expect(r.stdout).toBe('');
  });

  it('lists the audit events of a session without a recording', async () => {
    const r = await run(PG);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/statement\s+allowed\s+select 1/);
    const w = await run(PG, '--asciicast', join(dir, 'none.cast'));
    expect(w.status).toBe(1);
    expect(w.stderr).toContain('has no recording to write');
  });

  it('refuses a speed that is not a number above 0', async () => {
    const r = await run('--speed', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--speed must be a number above 0');
  });
});
