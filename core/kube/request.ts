/**
 * What a Kubernetes API request asks for, read exactly as the API server reads it
 * (k8s.io/apiserver pkg/endpoints/request/requestinfo.go `NewRequestInfo`, which every
 * authorizer, RBAC included, decides on): resource or not, verb, API group and version,
 * namespace, resource, subresource and name; then the Cedar action (actions.ts).
 *
 * The server's reading, step by step: the decoded path (go-url.ts) is trimmed of `/` at both
 * ends and split on `/`; fewer than 3 parts, or a first part other than `api`/`apis`, is a
 * non-resource request; `apis` takes a group; then the version; `watch` or `proxy` next is the
 * verb (the legacy prefix forms), else the method's verb (POST create, GET/HEAD get, PUT update,
 * PATCH patch, DELETE delete); `namespaces/{ns}` then names the namespace (and, unless followed
 * by `status` or `finalize`, is dropped from the parts); parts are resource/name/subresource;
 * a get without a name is a list, or a watch when the first `watch` query value is anything but
 * `0` or `false` (any case: apimachinery Convert_Slice_string_To_bool); a list or watch names
 * the object its `fieldSelector=metadata.name=X` selects; a delete without a name is a
 * deletecollection.
 *
 * Anything this reading could get wrong is refused before policy sees it (docs/kubernetes.md
 * "Reading requests"): see go-url.ts, plus empty, `.` and `..` segments (routers clean them,
 * RequestInfo does not), control characters and `%` in a segment (no valid name holds one), a
 * path past a subresource other than proxy, non-ASCII `watch` values (Go's EqualFold folds
 * `ſ` to `s`), a field selector naming two objects.
 */
import { actionOf, type KubeAction, type KubeVerb } from './actions.ts';
import { selectedName } from './field-selector.ts';
import { goPath, goQuery } from './go-url.ts';

/** A request on an API resource, as the API server reads it. */
export interface KubeResourceRequest {
  kind: 'resource';
  action: KubeAction;
  verb: KubeVerb;
  /** '' for the core group (`/api/v1`). */
  apiGroup: string;
  apiVersion: string;
  /** '' for cluster-scoped resources and for requests across all namespaces. */
  namespace: string;
  resource: string;
  subresource: string;
  /** '' when the request names no object (create, list, watch, deletecollection). */
  name: string;
  /** k8s:proxy: what follows the object in the path ('' when nothing). */
  proxyPath: string;
  /** pods/exec: the command's arguments (each `command` query value, in order). */
  command: string[];
  /** pods/exec, attach, log: the `container` query value ('' for the pod's default). */
  container: string;
}

/** API discovery, version and OpenAPI documents: allowed to whoever may use the connection. */
export interface KubeDiscoveryRequest {
  kind: 'discovery';
  path: string;
}

/**
 * Refused whatever the policy: `bad-request` for requests whose reading is uncertain or that no
 * API server serves, `not-allowed` for paths Postern does not pass (non-resource URLs such as
 * /metrics, /logs, /debug), `method` for methods the API does not have.
 */
export interface KubeRefusedRequest {
  kind: 'refused';
  status: 'bad-request' | 'not-allowed' | 'method';
  why: string;
}

export type KubeRequest = KubeResourceRequest | KubeDiscoveryRequest | KubeRefusedRequest;

/** Longest path segment read as a fact (DNS subdomain names are at most 253 characters). */
export const MAX_SEGMENT_CHARS = 253;

const METHOD_VERBS: Record<string, KubeVerb> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Non-resource paths kubectl and client libraries read to discover the API (GET/HEAD only). */
const DISCOVERY = new Set([
  'api',
  'apis',
  'version',
  'healthz',
  'livez',
  'readyz',
  'openapi/v2',
  'openapi/v3',
  '.well-known/openid-configuration',
  'openid/v1/jwks',
]);

const refused = (status: KubeRefusedRequest['status'], why: string): KubeRefusedRequest => ({
  kind: 'refused',
  status,
  why,
});

/**
 * `method` as sent, `rawPath` the API path as sent (percent-encoded, without the gateway's own
 * prefix), `rawQuery` without the `?`. The gateway must forward these same bytes.
 */
export function readRequest(method: string, rawPath: string, rawQuery: string): KubeRequest {
  if (!Object.hasOwn(METHOD_VERBS, method)) return refused('method', `the ${clip(method)} method`);
  const path = goPath(rawPath);
  if (!path.ok) return refused('bad-request', path.why);
  const query = goQuery(rawQuery);
  if (!query.ok) return refused('bad-request', query.why);
  // splitPath: strings.Trim(path, "/") then Split. One trailing slash is read as none; any
  // other empty segment is refused (a router might clean it where RequestInfo does not).
  const trimmed = path.value.endsWith('/') ? path.value.slice(1, -1) : path.value.slice(1);
  const parts = trimmed === '' ? [] : trimmed.split('/');
  for (const p of parts) {
    const bad = badSegment(p);
    if (bad) return refused('bad-request', bad);
  }
  const first = (values: string[] | undefined) => values?.[0];
  const q = query.value;

  const resourceRequest =
    parts.length >= 3 && (parts[0] === 'api' || (parts[0] === 'apis' && parts.length >= 4));
  if (!resourceRequest) {
    const joined = parts.join('/');
    const discovery =
      DISCOVERY.has(joined) ||
      (parts[0] === 'api' && parts.length === 2) ||
      (parts[0] === 'apis' && parts.length <= 3) ||
      (parts[0] === 'openapi' && parts[1] === 'v3');
    if (!discovery) return refused('not-allowed', `the non-resource path /${clip(joined)}`);
    if (method !== 'GET' && method !== 'HEAD')
      return refused('method', `${method} of the discovery path /${clip(joined)}`);
    return { kind: 'discovery', path: `/${joined}` };
  }

  let rest = parts.slice(1);
  const apiGroup = parts[0] === 'apis' ? rest.shift()! : '';
  const apiVersion = rest.shift()!;
  let verb: KubeVerb = METHOD_VERBS[method]!;
  let viaPrefix = false;
  if (rest[0] === 'watch' || rest[0] === 'proxy') {
    // "unable to determine kind and namespace from url": the server fails the request.
    if (rest.length < 2) return refused('bad-request', `/${rest[0]} without a resource`);
    verb = rest.shift() as KubeVerb;
    viaPrefix = true;
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
  }
  // specialVerbsNoSubresources: after /proxy/, everything past the name is the proxied path.
  const subresource = rest.length >= 3 && verb !== 'proxy' ? rest[2]! : '';
  let name = rest[1] ?? '';
  const resource = rest[0]!;
  const beyond = verb === 'proxy' ? rest.slice(2) : rest.slice(3);
  if (beyond.length > 0 && subresource !== 'proxy' && verb !== 'proxy')
    return refused('bad-request', `a path past the ${subresource} subresource`);

  if (name === '' && verb === 'get') {
    const watch = first(q.get('watch'));
    if (watch !== undefined && !/^[\x20-\x7e]*$/.test(watch))
      return refused('bad-request', 'a watch parameter that is not ASCII');
    verb = watch !== undefined && watch !== '0' && watch.toLowerCase() !== 'false' ? 'watch' : 'list';
    const selector = first(q.get('fieldSelector'));
    if (selector !== undefined) {
      const selected = selectedName(selector);
      if (selected === undefined) return refused('bad-request', 'a field selector Postern cannot read');
      name = selected;
    }
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  if (verb === 'proxy' && name === '') return refused('bad-request', 'a proxy request naming no object');
  if (viaPrefix && verb === 'watch' && subresource !== '')
    return refused('bad-request', 'a watch of a subresource');

  const action = actionOf(verb, resource, subresource);
  if (!action) return refused('method', `${verb} of ${resource}/${subresource}`);
  return {
    kind: 'resource',
    action,
    verb,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    proxyPath: beyond.length > 0 ? `/${beyond.join('/')}` : '',
    command: action === 'k8s:exec' ? (q.get('command') ?? []) : [],
    container: first(q.get('container')) ?? '',
  };
}

/** Why a decoded path segment is refused, if it is. */
function badSegment(p: string): string | undefined {
  if (p === '') return 'an empty segment (//) in the path';
  if (p === '.' || p === '..') return 'a . or .. segment in the path';
  if (p.length > MAX_SEGMENT_CHARS) return `a path segment over ${MAX_SEGMENT_CHARS} characters`;
  // Control and format characters would forge audit lines; `%` (escaped twice) and `;` (path
  // parameters to some proxies) are in no valid object name (path.IsValidPathSegmentName).
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}%;\\]/u.test(p)) return 'a path segment with control characters, %, ; or \\';
  return undefined;
}

/** Client text quoted in a refusal: printable ASCII, at most 80 characters. */
function clip(text: string): string {
  const one = text.replace(/[^\x20-\x7e]/g, '?');
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}
