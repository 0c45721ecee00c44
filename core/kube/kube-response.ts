/**
 * One API server response on its way to the client, decided per response
 * (mask/content-type.ts `responseHandling`): passed as it streams (discovery, empty bodies),
 * read whole and masked (get, list, Table, Status: mask/json-body.ts), masked event by event
 * (watch: mask/watch-masker.ts), or refused (a type that cannot be masked: the client gets an
 * InternalError Status, never the bytes). Pure: the module feeds it the mux's head, data and
 * end and says what to send; it counts what went out for the audit event.
 */
import type { HeaderList, ResponseHead } from '../tunnel/http-mux/heads.ts';
import { MAX_BODY_BYTES, maskJsonBody } from './mask/json-body.ts';
import { responseHandling, type ResponseHandling } from './mask/content-type.ts';
import type { KubeMaskOptions } from './mask/object-masker.ts';
import { WatchMasker } from './mask/watch-masker.ts';
import type { KubeRequest } from './request.ts';
import type { OutputFilter } from '../mask/output-filter.ts';
import { textResponseHead } from './stream/text-stream.ts';

/** What the response tells the client, in order. */
export type ResponseStep =
  | { kind: 'head'; status: number; headers: HeaderList; protocol?: string }
  /** Body bytes; `cost` is what to grant back to the target once the client took them (0: already granted). */
  | { kind: 'data'; bytes: Uint8Array; cost: number }
  | { kind: 'end' }
  /** Cannot be passed: before the head, answer with a Status; after it, cut the response. */
  | { kind: 'refuse'; why: string; headSent: boolean };

/**
 * What a response that streams (a watch, a followed log, discovery passed as it comes) adds so
 * that nothing between the Worker and the client recodes it. Cloudflare's edge (and Miniflare,
 * which copies its rule: text/plain, application/json... for a client that accepts gzip) gzips a
 * body that names no content coding, and a gzip stream holds small writes until a block fills or
 * the body ends: `kubectl logs -f` and `get -w` showed nothing until the stream was over. An
 * explicit `identity` is left as it is (Miniflare, entry.worker.js `ensureAcceptableEncoding`);
 * `no-transform` is the standard word to any intermediary (RFC 9111 §5.2.2.6).
 */
const IDENTITY: [string, string] = ['content-encoding', 'identity'];
const NO_TRANSFORM: [string, string] = ['cache-control', 'no-transform'];

/** Fields that describe a body the gateway may rewrite (the length changes when masked). */
const BODY_FIELDS = new Set(['content-length', 'content-encoding', 'content-md5']);

export class KubeResponse {
  #mode: ResponseHandling | undefined;
  #head: ResponseHead | undefined;
  #parts: Uint8Array[] = [];
  #buffered = 0;
  #watch: WatchMasker | undefined;
  #headSent = false;
  #done = false;
  /** Status of the response as the client sees it, and the body bytes it got. */
  status = 0;
  bytes = 0;
  /** What was masked (`secret`, `last-applied`...). */
  counts: Partial<Record<string, number>> = {};
  /** Why the response was refused or cut, if it was. */
  refused: string | undefined;
  /** The masker of a `text` response (logs, text proxied: stream/text-stream.ts), if any. */
  text: OutputFilter | undefined;

  constructor(
    private readonly request: KubeRequest,
    private readonly options: KubeMaskOptions,
    private readonly hint: string | undefined,
    private readonly maxBodyBytes = MAX_BODY_BYTES,
  ) {}

  get headSent(): boolean {
    return this.#headSent;
  }

  /** How the response is handled, once its head came. */
  get mode(): ResponseHandling | undefined {
    return this.#mode;
  }

  head(h: ResponseHead): ResponseStep[] {
    this.#head = h;
    const type = h.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
    const length = h.headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
    const mode = h.status === 101 ? 'stream' : responseHandling(this.request, type, length === '0');
    this.#mode = mode;
    if (typeof mode === 'object') return this.#refuse(mode.refuse);
    // The head goes with the masked body; one that says it is over the cap is refused at once.
    if (mode === 'json')
      return length !== undefined && Number(length) > this.maxBodyBytes
        ? this.#refuse(`a response over ${this.maxBodyBytes} bytes`)
        : [];
    if (mode === 'watch') this.#watch = new WatchMasker(this.options, this.hint);
    if (mode === 'text' && this.text) {
      const masked = textResponseHead(h.headers);
      if ('refuse' in masked) return this.#refuse(masked.refuse);
      return [this.#sendHead(h.status, streamed(masked.headers))];
    }
    if (mode === 'text') this.text = undefined; // a text response the filter never saw: no idle
    // A masked stream's length is not the upstream's. An upgrade's 101 has no body; any other
    // head here goes out before a body that streams.
    const own = this.#watch ? h.headers.filter(([n]) => !BODY_FIELDS.has(n.toLowerCase())) : h.headers;
    const headers = h.status === 101 ? own : streamed(own);
    return [this.#sendHead(h.status, headers, h.protocol)];
  }

  data(bytes: Uint8Array, cost: number): ResponseStep[] {
    if (this.#done) return [];
    const mode = this.#mode;
    if (mode === 'json') {
      this.#buffered += bytes.byteLength;
      if (this.#buffered > this.maxBodyBytes)
        return this.#refuse(`a response over ${this.maxBodyBytes} bytes`);
      this.#parts.push(bytes.slice());
      return [{ kind: 'data', bytes: new Uint8Array(0), cost }]; // held here: granted at once
    }
    if (this.#watch) {
      const out = this.#watch.push(bytes);
      if (!out.ok) return this.#refuse(out.why);
      const steps: ResponseStep[] = out.bytes.map((b) => this.#data(b, 0));
      steps.push({ kind: 'data', bytes: new Uint8Array(0), cost });
      return steps;
    }
    if (mode === 'text' && this.text) return [this.#data(this.text.push(bytes), cost)];
    // 'pass' (discovery), 'stream' (exec/attach read by the module: stream/exec-stream.ts).
    return [this.#data(bytes, cost)];
  }

  /** The text stream paused: what its masker held as a possible start of a value. */
  idle(): ResponseStep[] {
    if (this.#done || this.#mode !== 'text' || !this.text || this.text.held === 0) return [];
    return [this.#data(this.text.idle(), 0)];
  }

  end(): ResponseStep[] {
    if (this.#done) return [];
    if (this.#mode === 'json') {
      const body = concat(this.#parts, this.#buffered);
      this.#parts = [];
      const masked = maskJsonBody(body, this.options, this.hint, this.maxBodyBytes);
      if (!masked.ok) return this.#refuse(masked.why);
      this.counts = masked.counts;
      const headers = this.#head!.headers.filter(([n]) => !BODY_FIELDS.has(n.toLowerCase()));
      headers.push(['content-length', String(masked.body.byteLength)]);
      this.#done = true;
      return [this.#sendHead(this.#head!.status, headers), this.#data(masked.body, 0), { kind: 'end' }];
    }
    if (this.#watch) {
      const out = this.#watch.end();
      if (!out.ok) return this.#refuse(out.why);
      for (const k in this.#watch.counts) this.counts[k] = this.#watch.counts[k];
    }
    const rest = this.#mode === 'text' && this.text ? [this.#data(this.text.end(), 0)] : [];
    this.#done = true;
    return [...rest, { kind: 'end' }];
  }

  #sendHead(status: number, headers: HeaderList, protocol?: string): ResponseStep {
    this.#headSent = true;
    this.status = status;
    return { kind: 'head', status, headers, ...(protocol ? { protocol } : {}) };
  }

  #data(bytes: Uint8Array, cost: number): ResponseStep {
    this.bytes += bytes.byteLength;
    return { kind: 'data', bytes, cost };
  }

  #refuse(why: string): ResponseStep[] {
    this.#done = true;
    this.#parts = [];
    this.refused = why;
    return [{ kind: 'refuse', why, headSent: this.#headSent }];
  }
}

/** `headers` saying not to recode the body; a content coding it already names is kept as is. */
function streamed(headers: HeaderList): HeaderList {
  const coded = headers.some(([n]) => n.toLowerCase() === 'content-encoding');
  return coded ? [...headers, NO_TRANSFORM] : [...headers, IDENTITY, NO_TRANSFORM];
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
