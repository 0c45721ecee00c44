/**
 * Which representation the gateway asks the API server for, and what it does with the answer.
 * Masking reads JSON only: protobuf (`application/vnd.kubernetes.protobuf`, client-go's choice
 * for built-in types), CBOR (`application/cbor`, KEP-4222) and YAML (`application/yaml`) are not
 * read, so the gateway's Accept asks for JSON for every request whose answer may hold masked
 * data, and a response in any other type is refused rather than passed (docs/kubernetes.md
 * "What cannot be masked"). Media-type parameters such as `as=Table;g=meta.k8s.io;v=v1` (kubectl's
 * server-side printing) are kept: a Table is JSON too.
 */
import type { KubeRequest } from '../request.ts';

export type ResponseHandling =
  /** Pass unchanged: nothing in it is masked (discovery, an empty body). */
  | 'pass'
  /** A whole JSON body: json-body.ts. */
  | 'json'
  /** A JSON watch stream: watch-masker.ts. */
  | 'watch'
  /** Text (container logs, proxied pages): the value detectors over a stream. */
  | 'text'
  /** The stream of an exec, attach or port-forward (WebSocket/SPDY frames): the module's recorder. */
  | 'stream'
  | { refuse: string };

/** Requests answered with API objects (whose response must be JSON). */
function answersWithObjects(r: KubeRequest): boolean {
  return (
    r.kind === 'resource' &&
    !['k8s:exec', 'k8s:attach', 'k8s:portforward', 'k8s:logs', 'k8s:proxy'].includes(r.action)
  );
}

/** The `Accept` sent upstream for the client's `accept` (undefined when it sent none). */
export function upstreamAccept(r: KubeRequest, accept: string | undefined): string | undefined {
  if (!answersWithObjects(r)) return r.kind === 'discovery' ? accept : accept;
  const kept: string[] = [];
  for (const range of (accept ?? '').split(',')) {
    const t = range.trim();
    if (t === '') continue;
    const type = mediaType(t);
    if (type === 'application/json') kept.push(t);
    else if (type === '*/*' || type === 'application/*') kept.push('application/json');
  }
  return kept.length > 0 ? [...new Set(kept)].join(', ') : 'application/json';
}

/** What to do with a response to `r` of `contentType` (undefined: no Content-Type) and `bodyEmpty`. */
export function responseHandling(
  r: KubeRequest,
  contentType: string | undefined,
  bodyEmpty: boolean,
): ResponseHandling {
  if (r.kind !== 'resource') return 'pass';
  const type = contentType === undefined ? undefined : mediaType(contentType);
  switch (r.action) {
    case 'k8s:exec':
    case 'k8s:attach':
    case 'k8s:portforward':
      return 'stream';
    case 'k8s:logs':
      // The log of a container (text/plain), or a Status (JSON) when it fails.
      return type === 'application/json' ? 'json' : 'text';
    case 'k8s:proxy':
      // A proxied server answers with anything: text is scanned, JSON scanned as text (its
      // objects are not the API's), anything else (binary, compressed) cannot be.
      if (bodyEmpty) return 'pass';
      if (type !== undefined && (type.startsWith('text/') || type === 'application/json')) return 'text';
      return { refuse: `a proxied response of type ${clip(type ?? 'unknown')}` };
    default:
      if (bodyEmpty) return 'pass';
      if (type !== 'application/json')
        return { refuse: `a response of type ${clip(type ?? 'unknown')} (only JSON can be masked)` };
      return r.verb === 'watch' ? 'watch' : 'json';
  }
}

/** `type/subtype`, lower case, without parameters. */
function mediaType(value: string): string {
  return value.split(';')[0]!.trim().toLowerCase();
}

function clip(text: string): string {
  const one = text.replace(/[^\x20-\x7e]/g, '?');
  return one.length > 60 ? `${one.slice(0, 59)}…` : one;
}
