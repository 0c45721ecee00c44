/**
 * What a stream of text output passes through before it is recorded and sent on: SSH shell and
 * exec channels (core/ssh/engine) and Kubernetes exec, attach and log streams (core/kube/stream)
 * both go through one, and TerminalMasker (terminal-masker.ts) is the one there is.
 */
export interface OutputFilter {
  /** Takes a chunk; returns what may be sent now. */
  push(chunk: Uint8Array): Uint8Array;
  /** The output paused: what was held only in case more came. */
  idle(): Uint8Array;
  /** End of the stream: everything left. */
  end(): Uint8Array;
  /** Bytes held back now. */
  readonly held: number;
}

/** One filter per output stream of a channel (RFC 4254 §5.2: data, and extended data 1 = stderr). */
export interface OutputFilters {
  stdout: OutputFilter;
  stderr: OutputFilter;
}
