/**
 * The stand-in's object store: one resourceVersion counter for everything (etcd's revision),
 * a bounded history of changes so a watch can resume from a resourceVersion (older ones get 410
 * Expired, as from etcd compaction), and the defaulting a real cluster's controllers would do at
 * once (pods run, deployments are ready, namespaces are Active).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { apiVersionOf, findType, type KubeObject, type ResourceType } from './resources.ts';
import { alreadyExists, badRequest, conflict, expired, invalid, notFound } from './status.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  t: ResourceType;
  object: KubeObject;
  rv: number;
}

/** How many changes a watch can resume across. */
const HISTORY = 1000;
const NAMESPACES = findType('', 'v1', 'namespaces')!;

const key = (t: ResourceType, ns: string | undefined, name: string) =>
  `${t.group}/${t.plural}/${ns ?? ''}/${name}`;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const clone = <T>(v: T): T => structuredClone(v);

/** `generateName` suffix: 5 characters from the apimachinery alphabet (no vowels, no 0/1/3). */
function suffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private podCount = 0;
  /** The newest resourceVersion no longer in history: a watch from before it cannot resume. */
  private pruned = 0;

  /** The current resourceVersion (a list's metadata.resourceVersion). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  list(t: ResourceType, ns?: string): KubeObject[] {
    const prefix = ns === undefined ? `${t.group}/${t.plural}/` : key(t, ns, '');
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, o]) => clone(o))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      );
  }

  get(t: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.objects.get(key(t, ns, name));
    if (!o) throw notFound(t, name);
    return clone(o);
  }

  has(t: ResourceType, ns: string | undefined, name: string): boolean {
    return this.objects.has(key(t, ns, name));
  }

  create(t: ResourceType, ns: string | undefined, body: KubeObject): KubeObject {
    this.checkKind(t, body);
    const o = clone(body);
    o.metadata ??= {};
    if (t.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      o.metadata.namespace = ns;
      if (!this.has(NAMESPACES, undefined, ns!)) throw notFound(NAMESPACES, ns!);
    } else delete o.metadata.namespace;
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = o.metadata.generateName + suffix();
    if (!o.metadata.name)
      throw invalid(
        t.kind,
        '',
        'metadata.name',
        'FieldValueRequired',
        'Required value: name or generateName is required',
      );
    if (this.has(t, o.metadata.namespace, o.metadata.name)) throw alreadyExists(t, o.metadata.name);
    delete o.metadata.resourceVersion;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now();
    if (t.kind === 'Deployment') o.metadata.generation = 1;
    this.defaults(t, o, undefined);
    return this.commit('ADDED', t, o);
  }

  /** PUT semantics: the whole object, optimistic concurrency on metadata.resourceVersion. */
  update(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    body: KubeObject,
    subresource?: string,
  ): KubeObject {
    this.checkKind(t, body);
    const old = this.get(t, ns, name);
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion)
      throw conflict(t, name);
    const o = clone(body);
    if (subresource === 'status') {
      // The status subresource changes only status (apiserver strategy PrepareForUpdate).
      const next = { ...old, status: o.status } as KubeObject;
      return this.commit('MODIFIED', t, next);
    }
    o.metadata = {
      ...o.metadata,
      name,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
    };
    if (t.namespaced) o.metadata.namespace = ns;
    if (old.metadata.generation !== undefined)
      o.metadata.generation =
        old.metadata.generation + (JSON.stringify(o.spec) !== JSON.stringify(old.spec) ? 1 : 0);
    this.defaults(t, o, old);
    return this.commit('MODIFIED', t, o);
  }

  delete(t: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.get(t, ns, name);
    this.objects.delete(key(t, ns, name));
    if (t === NAMESPACES) {
      // The namespace controller empties a deleted namespace; here it happens at once.
      for (const [k, v] of [...this.objects.entries()])
        if (v.metadata.namespace === name) {
          this.objects.delete(k);
          const vt = findType(...splitApiVersion(v.apiVersion), k.split('/')[1]!)!;
          this.record('DELETED', vt, v);
        }
    }
    return this.record('DELETED', t, o);
  }

  /** Calls `fn` with every change after `since` (from history) and then live; returns unsubscribe. */
  watch(since: number | undefined, fn: (e: StoreEvent) => void): () => void {
    if (since !== undefined) {
      if (since < this.pruned) throw expired(String(since));
      for (const e of this.history) if (e.rv > since) fn(e);
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private checkKind(t: ResourceType, body: KubeObject) {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('the body of the request was not a JSON object');
    if ((body.kind && body.kind !== t.kind) || (body.apiVersion && body.apiVersion !== apiVersionOf(t)))
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`,
      );
  }

  private commit(type: EventType, t: ResourceType, o: KubeObject): KubeObject {
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    this.objects.set(key(t, o.metadata.namespace, o.metadata.name!), o);
    return this.record(type, t, o);
  }

  private record(type: EventType, t: ResourceType, o: KubeObject): KubeObject {
    this.rv++;
    o.metadata.resourceVersion = String(this.rv);
    const e: StoreEvent = { type, t, object: clone(o), rv: this.rv };
    this.history.push(e);
    if (this.history.length > HISTORY) this.pruned = this.history.shift()!.rv;
    for (const l of this.listeners) l(e);
    return clone(o);
  }

  /** What the type's registry strategy and controllers would fill in. */
  private defaults(t: ResourceType, o: KubeObject, old: KubeObject | undefined) {
    const spec = (o.spec ??= {}) as Record<string, unknown>;
    switch (t.kind) {
      case 'Namespace':
        o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name! };
        spec.finalizers ??= ['kubernetes'];
        o.status = { phase: 'Active' };
        break;
      case 'Secret':
        delete o.spec;
        secretDefaults(o);
        break;
      case 'ConfigMap':
      case 'Event':
        delete o.spec;
        break;
      case 'Pod':
        podDefaults(o, spec, old, () => ++this.podCount);
        break;
      case 'Deployment': {
        if (!spec.selector)
          throw invalid(t.kind, o.metadata.name!, 'spec.selector', 'FieldValueRequired', 'Required value');
        spec.replicas ??= 1;
        const n = spec.replicas as number;
        o.status = {
          observedGeneration: o.metadata.generation,
          replicas: n,
          updatedReplicas: n,
          readyReplicas: n,
          availableReplicas: n,
          conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }],
        };
        break;
      }
    }
  }
}

function splitApiVersion(apiVersion: string): [string, string] {
  const i = apiVersion.indexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

/** stringData is write-only: merged into data (base64) on write (core/v1 Secret, API reference). */
function secretDefaults(o: KubeObject) {
  o.type ??= 'Opaque';
  const data = { ...((o.data ?? {}) as Record<string, unknown>) };
  for (const [k, v] of Object.entries(data))
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key ${k})`,
      );
  for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, unknown>))
    data[k] = Buffer.from(String(v)).toString('base64');
  delete o.stringData;
  if (Object.keys(data).length) o.data = data;
  else delete o.data;
}

function podDefaults(
  o: KubeObject,
  spec: Record<string, unknown>,
  old: KubeObject | undefined,
  next: () => number,
) {
  const containers = spec.containers as { name?: string; image?: string }[] | undefined;
  if (!Array.isArray(containers) || containers.length === 0)
    throw invalid('Pod', o.metadata.name!, 'spec.containers', 'FieldValueRequired', 'Required value');
  spec.restartPolicy ??= 'Always';
  spec.nodeName ??= 'stand-in-node';
  if (old?.status) {
    o.status = old.status;
    return;
  }
  const started = now();
  o.status = {
    phase: 'Running',
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
      type,
      status: 'True',
      lastTransitionTime: started,
    })),
    hostIP: '127.0.0.1',
    podIP: `10.244.0.${next() % 250}`,
    startTime: started,
    qosClass: 'BestEffort',
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: started } },
    })),
  };
}
