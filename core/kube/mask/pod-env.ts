/**
 * Literal container environment values (`env[].value`) of anything that holds a pod spec: a Pod
 * (spec), a PodTemplate (template.spec), the workloads with `spec.template` (Deployment,
 * ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController) and CronJob
 * (`spec.jobTemplate.spec.template`), in containers, initContainers and ephemeralContainers.
 * Values from `valueFrom` (a Secret or ConfigMap reference) are names, not values: the referenced
 * Secret is masked where it is read.
 */

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** Calls `mask` on each literal env value of the pod specs `obj` holds; replaces what it returns. */
export function maskPodEnv(obj: Record<string, unknown>, mask: (value: string) => string): void {
  for (const spec of podSpecs(obj)) {
    for (const list of CONTAINER_LISTS) {
      const containers = spec[list];
      if (!Array.isArray(containers)) continue;
      for (const c of containers) {
        if (!isRecord(c) || !Array.isArray(c['env'])) continue;
        for (const e of c['env']) {
          if (isRecord(e) && typeof e['value'] === 'string') e['value'] = mask(e['value']);
        }
      }
    }
  }
}

/** The pod specs of an object: its own spec, its template's, its job template's template's. */
function podSpecs(obj: Record<string, unknown>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const spec = obj['spec'];
  if (isRecord(spec)) {
    if (Array.isArray(spec['containers'])) out.push(spec);
    const template = spec['template'];
    if (isRecord(template) && isRecord(template['spec'])) out.push(template['spec']);
    const job = spec['jobTemplate'];
    if (isRecord(job) && isRecord(job['spec'])) {
      const t = job['spec']['template'];
      if (isRecord(t) && isRecord(t['spec'])) out.push(t['spec']);
    }
  }
  // PodTemplate keeps its template at the top level.
  const template = obj['template'];
  if (isRecord(template) && isRecord(template['spec'])) out.push(template['spec']);
  return out;
}
