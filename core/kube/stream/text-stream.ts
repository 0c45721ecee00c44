/**
 * A text response masked as a stream (docs/kubernetes.md "Logs"): a container's log
 * (`pods/log`, and `logs -f`, whose chunks arrive as the container writes) and text a
 * `k8s:proxy` request returns (content-type.ts decides which responses are `text`). The bytes
 * go through the same masker as SSH terminal output and exec output (core/mask/terminal-masker.ts,
 * with the detectors the connection names): a value split across chunks is found whole, what
 * could still be the start of one is held until more comes, `idle()` (a quiet spell) or `end()`.
 * A log is read, not typed at: the host waits LOG_IDLE_MS before `idle()`, longer than a
 * terminal's 30 ms, since what `idle()` lets out can be the start of a value the next chunk
 * completes (a container pausing inside a line).
 *
 * Masking changes lengths, so `Content-Length` is dropped (the response is chunked); a
 * compressed body (`Content-Encoding` other than identity: the gateway asks for none) cannot be
 * read and is refused rather than passed.
 */
import type { HeaderList } from '../../tunnel/http-mux/heads.ts';
import type { OutputFilter } from '../../mask/output-filter.ts';
import type { SshOutputMasking } from '../../ssh/module/ssh-output-masking.ts';

/** Quiet time after which what a text stream's masker holds is let out. */
export const LOG_IDLE_MS = 1000;

export type TextHead = { headers: HeaderList } | { refuse: string };

/** The response head a masked text body goes out with, or why it cannot be masked. */
export function textResponseHead(headers: HeaderList): TextHead {
  const out: HeaderList = [];
  for (const [name, value] of headers) {
    const n = name.toLowerCase();
    if (n === 'content-length') continue;
    if (n === 'content-encoding' && value.trim().toLowerCase() !== 'identity')
      return { refuse: 'a compressed text response (it cannot be masked)' };
    out.push([name, value]);
  }
  return { headers: out };
}

/**
 * The filter a text response passes through, or undefined when the connection names no
 * detector (the body then passes as it is, Content-Length included).
 */
export function textFilter(masking: SshOutputMasking): OutputFilter | undefined {
  return masking.filters({ kind: 'exec' })?.stdout;
}
