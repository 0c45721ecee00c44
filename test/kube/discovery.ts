/**
 * Discovery as kube-apiserver 1.32 serves it: /version, the legacy documents (/api APIVersions,
 * /apis APIGroupList, /apis/<group> APIGroup, /api/v1 and /apis/<group>/<version>
 * APIResourceList) and aggregated discovery (KEP-3352): /api and /apis answer an
 * apidiscovery.k8s.io/v2 APIGroupDiscoveryList when the Accept header asks for it (kubectl 1.30+
 * does, with the legacy JSON as its fallback alternative).
 */
import {
  apiVersionOf,
  RESOURCE_TYPES,
  typesOf,
  VERBS,
  type JsonObject,
  type ResourceType,
} from './resources.ts';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-postern-stand-in',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The Content-Type of an aggregated discovery answer. */
export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

const groups = () => [...new Set(RESOURCE_TYPES.filter((t) => t.group !== '').map((t) => t.group))];
const versionsOf = (group: string) => [
  ...new Set(RESOURCE_TYPES.filter((t) => t.group === group).map((t) => t.version)),
];

function apiGroup(name: string): JsonObject {
  const versions = versionsOf(name).map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions, preferredVersion: versions[0] };
}

export const apiVersions = (serverAddress: string): JsonObject => ({
  kind: 'APIVersions',
  versions: versionsOf(''),
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
});

export const apiGroupList = (): JsonObject => ({
  kind: 'APIGroupList',
  apiVersion: 'v1',
  groups: groups().map(apiGroup),
});

export function apiGroupDoc(group: string): JsonObject | undefined {
  return versionsOf(group).length && group
    ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) }
    : undefined;
}

/** APIResourceList for one group version: each type, then each of its subresources as `pods/log`. */
export function apiResourceList(group: string, version: string): JsonObject | undefined {
  const types = typesOf(group, version);
  if (!types.length) return undefined;
  const resources = types.flatMap((t) => [
    {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    },
    ...t.subresources.map((s) => ({
      name: `${t.plural}/${s.name}`,
      singularName: '',
      namespaced: t.namespaced,
      kind: s.kind,
      verbs: s.verbs,
    })),
  ]);
  return {
    kind: 'APIResourceList',
    ...(group ? { apiVersion: 'v1' } : {}),
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function discoveryResource(t: ResourceType): JsonObject {
  const [group, version] = apiVersionOf(t).includes('/') ? [t.group, t.version] : ['', t.version];
  return {
    resource: t.plural,
    responseKind: { group, version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: VERBS,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    ...(t.subresources.length
      ? {
          subresources: t.subresources.map((s) => ({
            subresource: s.name,
            responseKind:
              s.kind === 'Scale'
                ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
                : { group, version, kind: s.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

/** APIGroupDiscoveryList for /api (`legacy`) or /apis. */
export function aggregated(legacy: boolean): JsonObject {
  const names = legacy ? [''] : groups();
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: names.map((g) => ({
      metadata: g ? { name: g, creationTimestamp: null } : { creationTimestamp: null },
      versions: versionsOf(g).map((version) => ({
        version,
        resources: typesOf(g, version).map(discoveryResource),
        freshness: 'Current',
      })),
    })),
  };
}

/** Whether the Accept header lists aggregated discovery v2 (v2beta1 was removed in 1.33; not served). */
export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some(
      (alt) =>
        /g=apidiscovery\.k8s\.io/.test(alt) &&
        /;\s*v=v2(;|$)/.test(alt.replace(/\s/g, '')) &&
        /as=APIGroupDiscoveryList/.test(alt),
    );
}
