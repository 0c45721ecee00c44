/**
 * Server-side printing: `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` turns a get or
 * list into a meta.k8s.io/v1 Table (apimachinery pkg/apis/meta/v1/types.go `Table`), with the
 * columns kube-apiserver's printers (pkg/printers/internalversion/printers.go) give these types.
 * `includeObject` picks what each row carries: None, Metadata (PartialObjectMetadata, the
 * default) or Object (the whole object: masking must reach inside rows).
 */
import type { JsonObject, KubeObject, ResourceType } from './resources.ts';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (o: KubeObject, now: number) => unknown;
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. More info: http://kubernetes.io/docs/user-guide/identifiers#names',
  priority: 0,
  cell: (o) => o.metadata.name,
};

const AGE: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o, now) => age(o.metadata.creationTimestamp, now),
};

/** apimachinery util/duration.HumanDuration, the Age column's format. */
export function age(created: string | undefined, now: number): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const str = (description: string, cell: Column['cell'], priority = 0): Omit<Column, 'name'> => ({
  type: 'string',
  description,
  priority,
  cell,
});
const count = (o: KubeObject) =>
  Object.keys((o.data ?? {}) as object).length + Object.keys((o.binaryData ?? {}) as object).length;

type Status = {
  containerStatuses?: { ready?: boolean; restartCount?: number }[];
  phase?: string;
  podIP?: string;
};

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    {
      name: 'Ready',
      ...str('The aggregate readiness state of this pod for accepting traffic.', (o) => {
        const cs = (o.status as Status | undefined)?.containerStatuses ?? [];
        return `${cs.filter((c) => c.ready).length}/${((o.spec as { containers?: unknown[] }).containers ?? []).length}`;
      }),
    },
    {
      name: 'Status',
      ...str('The aggregate status of the containers in this pod.', (o) =>
        o.metadata.deletionTimestamp ? 'Terminating' : ((o.status as Status | undefined)?.phase ?? 'Unknown'),
      ),
    },
    {
      name: 'Restarts',
      type: 'string',
      description:
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      priority: 0,
      cell: (o) =>
        String(
          ((o.status as Status | undefined)?.containerStatuses ?? []).reduce(
            (n, c) => n + (c.restartCount ?? 0),
            0,
          ),
        ),
    },
    AGE,
    {
      name: 'IP',
      ...str(
        'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
        (o) => (o.status as Status | undefined)?.podIP ?? '<none>',
        1,
      ),
    },
    {
      name: 'Node',
      ...str(
        'NodeName is a request to schedule this pod onto a specific node.',
        (o) => (o.spec as { nodeName?: string }).nodeName ?? '<none>',
        1,
      ),
    },
    {
      name: 'Nominated Node',
      ...str(
        'nominatedNodeName is set only when this pod preempts other pods on the node.',
        () => '<none>',
        1,
      ),
    },
    {
      name: 'Readiness Gates',
      ...str('If specified, all readiness gates will be evaluated for pod readiness.', () => '<none>', 1),
    },
  ],
  Secret: [
    NAME,
    { name: 'Type', ...str('The type of data stored in the secret', (o) => o.type) },
    {
      name: 'Data',
      type: 'integer',
      description: 'The number of entries in the data/stringData field',
      priority: 0,
      cell: count,
    },
    AGE,
  ],
  ConfigMap: [
    NAME,
    {
      name: 'Data',
      type: 'integer',
      description: 'The number of entries in the data/binaryData field',
      priority: 0,
      cell: count,
    },
    AGE,
  ],
  Namespace: [
    NAME,
    {
      name: 'Status',
      ...str('The status of the namespace', (o) => (o.status as { phase?: string } | undefined)?.phase),
    },
    AGE,
  ],
  Deployment: [
    NAME,
    {
      name: 'Ready',
      ...str(
        'Number of the pod with ready state',
        (o) => `${dst(o).readyReplicas ?? 0}/${(o.spec as { replicas?: number }).replicas ?? 0}`,
      ),
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      description:
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      priority: 0,
      cell: (o) => dst(o).updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      description:
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      priority: 0,
      cell: (o) => dst(o).availableReplicas ?? 0,
    },
    AGE,
    {
      name: 'Containers',
      ...str(
        'Names of each container in the template.',
        (o) =>
          containers(o)
            .map((c) => c.name)
            .join(','),
        1,
      ),
    },
    {
      name: 'Images',
      ...str(
        'Images referenced by each container in the template.',
        (o) =>
          containers(o)
            .map((c) => c.image)
            .join(','),
        1,
      ),
    },
    {
      name: 'Selector',
      ...str(
        'Label selector for pods.',
        (o) =>
          Object.entries(
            ((o.spec as { selector?: { matchLabels?: object } }).selector?.matchLabels ?? {}) as Record<
              string,
              string
            >,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        1,
      ),
    },
  ],
};

const dst = (o: KubeObject) =>
  (o.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number };
const containers = (o: KubeObject) =>
  (o.spec as { template?: { spec?: { containers?: { name: string; image: string }[] } } }).template?.spec
    ?.containers ?? [];

/** The default printer for types without their own (Name, Created At). */
const DEFAULT: Column[] = [
  NAME,
  {
    name: 'Created At',
    type: 'date',
    description:
      'CreationTimestamp is a timestamp representing the server time when this object was created.',
    priority: 0,
    cell: (o) => o.metadata.creationTimestamp,
  },
];

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectParam(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/** One Table for `objects`; `headers: false` leaves columnDefinitions out (later watch events). */
export function toTable(
  t: ResourceType,
  objects: KubeObject[],
  opts: { include: IncludeObject; resourceVersion?: string; headers?: boolean; now?: number },
): JsonObject {
  const cols = COLUMNS[t.kind] ?? DEFAULT;
  const now = opts.now ?? Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions:
      opts.headers === false
        ? null
        : cols.map(({ name, type, format, description, priority }) => ({
            name,
            type,
            format: format ?? '',
            description,
            priority,
          })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o, now) ?? null),
      ...(opts.include === 'None'
        ? {}
        : {
            object:
              opts.include === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}

/** Whether an Accept header asks for a Table (any of its alternatives). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((alt) => /;\s*as=Table/.test(alt) && /g=meta\.k8s\.io/.test(alt) && /v=v1(\b|;|$)/.test(alt));
}
