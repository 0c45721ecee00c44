/**
 * What can be read from an exec request's command string without running a shell (RFC 4254
 * §6.5: the string is handed to the target user's login shell as `$SHELL -c <command>`).
 *
 * A command is `plain` when it is only simple words: unquoted characters that no POSIX shell
 * gives a meaning to (letters, digits, `_@%+=:,./-`) and single-quoted strings (literal in sh,
 * XCU §2.2.2), separated by spaces or tabs, with no `=` in its first word (an assignment prefix
 * such as `LD_PRELOAD=/tmp/x.so ls` would run `ls` with a library of the caller's choosing).
 * For a plain command the shell runs exactly one program, `words[0]`, with exactly `words[1..]`
 * as its arguments; for any other command (`;`, `|`, `$(...)`, `` ` ``, globs, double quotes,
 * backslashes, redirections, newlines...) Postern cannot tell what will run, and policy sees
 * only the string (docs/ssh.md, "What policy cannot see").
 */

export interface CommandWords {
  plain: boolean;
  /** The words, quotes removed; empty when the command is not plain. */
  words: string[];
  /** The first word when plain (the program the shell runs), else ''. */
  program: string;
}

/** Characters a POSIX shell reads as themselves outside quotes, in any position of a word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]$/;

/** The words of `command` when it is plain (see above). Linear in its length. */
export function commandWords(command: string): CommandWords {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) return NOT_PLAIN;
      word = (word ?? '') + command.slice(i + 1, close);
      i = close;
    } else if (SAFE.test(c)) word = (word ?? '') + c;
    else return NOT_PLAIN;
  }
  if (word !== undefined) words.push(word);
  // An `=` in the first word: an assignment before the program, or a program named like one.
  if (words[0]?.includes('=')) return NOT_PLAIN;
  return { plain: true, words, program: words[0] ?? '' };
}

const NOT_PLAIN: CommandWords = Object.freeze({ plain: false, words: [], program: '' }) as CommandWords;

/** A command that moves files with its own protocol on stdin/stdout (not a terminal's text). */
export interface FileTransfer {
  tool: 'scp' | 'rsync' | 'sftp-server';
  /** What it does to `paths` on the target: scp -f / rsync --sender read, scp -t / rsync write. */
  op: 'read' | 'write' | 'session';
  /** The target paths it was given (none for sftp-server: its SFTP packets name them). */
  paths: string[];
}

/**
 * The file transfer a command starts, if it is one: legacy scp (`scp [-v -r -p -d] -t|-f [--]
 * paths`, what `scp -O` runs on the target), rsync's server side (`rsync --server [--sender]
 * ... . paths`, what `rsync -e ssh` runs) and OpenSSH's sftp-server (by path). Only plain
 * commands qualify: `cat secrets; scp -f x` is not a file transfer, so its output is masked.
 */
export function fileTransferOf(command: string): FileTransfer | undefined {
  const { plain, words } = commandWords(command);
  if (!plain || words.length === 0) return undefined;
  const name = words[0]!.slice(words[0]!.lastIndexOf('/') + 1);
  if (name === 'sftp-server' && words.every((w, i) => i === 0 || w.startsWith('-')))
    return { tool: 'sftp-server', op: 'session', paths: [] };
  if (name === 'scp') return scpTransfer(words);
  if (name === 'rsync' && words[1] === '--server') {
    const dot = words.indexOf('.', 2);
    if (dot < 0) return undefined;
    return {
      tool: 'rsync',
      op: words.slice(2, dot).includes('--sender') ? 'read' : 'write',
      paths: words.slice(dot + 1),
    };
  }
  return undefined;
}

/** Whether the engine must leave a command's output unmasked (its bytes are a file's). */
export function isFileTransferCommand(command: string): boolean {
  return fileTransferOf(command) !== undefined;
}

/** scp's remote side (scp.c: `scp [-v] [-r] [-p] [-d] -t|-f [--] path...`). */
function scpTransfer(words: string[]): FileTransfer | undefined {
  let op: 'read' | 'write' | undefined;
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const flag of w.slice(1)) {
      if (flag === 't' || flag === 'f') {
        const next = flag === 't' ? 'write' : 'read';
        if (op !== undefined && op !== next) return undefined;
        op = next;
      } else if (!'vrpdq'.includes(flag)) return undefined;
    }
  }
  if (op === undefined) return undefined;
  return { tool: 'scp', op, paths: words.slice(i) };
}
