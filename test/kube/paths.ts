/**
 * Reads a request URL into what it names, the way kube-apiserver's RequestInfoResolver does
 * (apiserver pkg/endpoints/request/requestinfo.go): /api/v1/... or /apis/<group>/<version>/...,
 * then [namespaces/<ns>/]<resource>[/<name>[/<subresource>]], and the verb from the method.
 */
import { findType, type ResourceType } from './resources.ts';

export interface RequestInfo {
  t: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
}

/** Names and namespaces are DNS labels/subdomains; anything else cannot name an object. */
const SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function resolve(method: string, pathname: string, query: URLSearchParams): RequestInfo | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [group, version, rest] = ['', parts[1]!, parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4)
    [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && findType(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const t = findType(group, version, plural!);
  if (!t || extra.length) return undefined;
  if (t.namespaced && namespace === undefined && name !== undefined) return undefined;
  if ([namespace, name].some((s) => s !== undefined && !SEGMENT.test(s))) return undefined;
  if (subresource !== undefined && !t.subresources.some((s) => s.name === subresource)) return undefined;
  const watching = query.get('watch') === 'true' || query.get('watch') === '1';
  const verb =
    name === undefined
      ? { GET: watching ? 'watch' : 'list', POST: 'create', DELETE: 'deletecollection' }[method]
      : { GET: watching ? 'watch' : 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete', POST: 'create' }[
          method
        ];
  if (!verb) return { t, namespace, name, subresource, verb: method.toLowerCase() };
  return { t, namespace, name, subresource, verb };
}
