/**
 * What `postern sessions replay` lets through to the auditor's terminal from a recording. The
 * recorded output is the target's, so it is hostile: escape sequences that only draw (text,
 * colours, cursor moves, erasing: ECMA-48 CSI with a drawing final byte) pass; those that make
 * the terminal act or answer are dropped: OSC (titles, OSC 52 clipboard writes, hyperlinks),
 * DCS, SOS, PM and APC strings (ECMA-48 §8.3.27, 8.3.89, 8.3.115, 8.3.128, 8.3.2), the C1
 * controls written as single characters U+0080–U+009F, and CSI requests the terminal answers
 * on its input (DSR `n`, DA `c`, window reports `t`: ECMA-48 §8.3.35, §8.3.24; xterm ctlseqs).
 *
 * Streaming: a sequence split across output events is still recognised (state is kept).
 * Linear, bounded: a CSI longer than 64 characters is dropped whole.
 */

const ESC = '\x1b';
const BEL = '\x07';
/** CSI final bytes the terminal answers or that change more than the screen. */
const ANSWERED = new Set(['n', 'c', 't', 'q', 'x']);
const MAX_CSI = 64;

type State = 'ground' | 'esc' | 'csi' | 'string' | 'stringEsc' | 'escIntermediate';

export class TerminalFilter {
  private state: State = 'ground';
  private csi = '';
  /** Sequences dropped so far (the replay says how many). */
  dropped = 0;

  /** The drawable part of `text`, given everything pushed before it. */
  push(text: string): string {
    let out = '';
    for (const ch of text) {
      const code = ch.codePointAt(0)!;
      switch (this.state) {
        case 'ground':
          if (ch === ESC) this.state = 'esc';
          else if (code >= 0x80 && code <= 0x9f) {
            // C1 control as one character: CSI, OSC, DCS... in 8-bit form; none is drawing text.
            this.dropped++;
            if (code === 0x9b) this.begin('csi');
            else if (code === 0x9d || code === 0x90 || code === 0x98 || code === 0x9e || code === 0x9f)
              this.state = 'string';
          } else if (code < 0x20 && !'\n\r\t\b'.includes(ch)) {
            if (ch !== BEL) this.dropped++; // other C0 controls: nothing a replay needs
          } else out += ch;
          break;
        case 'esc':
          if (ch === '[') this.begin('csi');
          else if (ch === ']' || ch === 'P' || ch === 'X' || ch === '^' || ch === '_') {
            this.dropped++;
            this.state = 'string';
          } else if (code >= 0x20 && code <= 0x2f) {
            // ESC ( B and friends (character sets): an intermediate, then one final byte.
            this.csi = ESC + ch;
            this.state = 'escIntermediate';
          } else {
            if (code >= 0x30 && code <= 0x7e)
              out += ESC + ch; // ESC 7, ESC 8, ESC =, ESC M...
            else this.dropped++;
            this.state = 'ground';
          }
          break;
        case 'escIntermediate':
          if (code >= 0x30 && code <= 0x7e) out += this.csi + ch;
          else this.dropped++;
          this.csi = '';
          this.state = 'ground';
          break;
        case 'csi':
          this.csi += ch;
          if (code >= 0x40 && code <= 0x7e) {
            if (ANSWERED.has(ch)) this.dropped++;
            else out += `${ESC}[${this.csi}`;
            this.csi = '';
            this.state = 'ground';
          } else if (code < 0x20 || code > 0x7e || this.csi.length > MAX_CSI) {
            this.dropped++;
            this.csi = '';
            this.state = 'ground';
          }
          break;
        case 'string':
          // Until BEL (xterm's OSC end) or ST (ESC \).
          if (ch === BEL || code === 0x9c) this.state = 'ground';
          else if (ch === ESC) this.state = 'stringEsc';
          break;
        case 'stringEsc':
          this.state = ch === '\\' ? 'ground' : 'string';
          break;
      }
    }
    return out;
  }

  private begin(state: 'csi'): void {
    this.csi = '';
    this.state = state;
  }
}
