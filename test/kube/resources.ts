/**
 * The resource types the stand-in API server serves, one table that discovery, routing, the
 * store and the Table printer all read (so they cannot disagree). Shapes follow the Kubernetes
 * API reference (https://kubernetes.io/docs/reference/kubernetes-api/) and the discovery
 * documents of a real kube-apiserver 1.32.
 */

/** A JSON object as it travels on the wire. */
export type JsonObject = { [key: string]: unknown };

/** The metadata every stored object has (ObjectMeta, the fields this server reads). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A Kubernetes object: apiVersion, kind, metadata and whatever else its type carries. */
export interface KubeObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface Subresource {
  name: string;
  verbs: string[];
  /** The kind the subresource answers with (`pods/log` answers text but discovery names Pod). */
  kind: string;
}

export interface ResourceType {
  /** API group; '' is the legacy core group served under /api. */
  group: string;
  version: string;
  kind: string;
  /** The plural resource name used in URLs (`pods`). */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
  /** Field selectors the real server accepts for this type besides metadata.name/namespace. */
  fieldLabels: string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function type(
  t: Omit<ResourceType, 'subresources' | 'fieldLabels' | 'categories' | 'shortNames'> & Partial<ResourceType>,
) {
  return { subresources: [], fieldLabels: [], categories: [], shortNames: [], ...t } satisfies ResourceType;
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  type({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    fieldLabels: ['status.phase'],
    subresources: [{ name: 'status', verbs: ['get', 'patch', 'update'], kind: 'Namespace' }],
  }),
  type({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    fieldLabels: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    subresources: [
      { name: 'attach', verbs: ['create', 'get'], kind: 'PodAttachOptions' },
      { name: 'exec', verbs: ['create', 'get'], kind: 'PodExecOptions' },
      { name: 'log', verbs: ['get'], kind: 'Pod' },
      { name: 'portforward', verbs: ['create', 'get'], kind: 'PodPortForwardOptions' },
      { name: 'status', verbs: ['get', 'patch', 'update'], kind: 'Pod' },
    ],
  }),
  type({
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    fieldLabels: ['type'],
  }),
  type({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
  }),
  type({
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    fieldLabels: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  type({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [
      { name: 'scale', verbs: ['get', 'patch', 'update'], kind: 'Scale' },
      { name: 'status', verbs: ['get', 'patch', 'update'], kind: 'Deployment' },
    ],
  }),
  type({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
  }),
];

export const VERBS = ALL_VERBS;

/** `v1` for the core group, `apps/v1` otherwise: the apiVersion objects of this type carry. */
export function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** The resource as error messages name it: `pods`, `deployments.apps` (apimachinery GroupResource.String). */
export function groupResource(t: ResourceType): string {
  return t.group === '' ? t.plural : `${t.plural}.${t.group}`;
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function typesOf(group: string, version: string): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
}
