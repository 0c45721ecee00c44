/**
 * The Cedar actions of Kubernetes requests (docs/kubernetes.md "Actions and facts"): one per
 * API verb (k8s.io/apiserver requestinfo.go), and one each for the subresources that reach into
 * a running container or through the API server (exec, attach, port-forward, logs, proxy), so a
 * policy can hold `kubectl exec` without reading subresource names.
 */
export const KUBE_ACTIONS = [
  'k8s:get',
  'k8s:list',
  'k8s:watch',
  'k8s:create',
  'k8s:update',
  'k8s:patch',
  'k8s:delete',
  'k8s:deletecollection',
  'k8s:exec',
  'k8s:attach',
  'k8s:portforward',
  'k8s:logs',
  'k8s:proxy',
] as const;
export type KubeAction = (typeof KUBE_ACTIONS)[number];

/** The API verbs RequestInfo derives from a method and path. */
export type KubeVerb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'proxy';

/** Pod subresources with an action of their own, and the verbs the API server serves them with. */
const POD_CONNECT: Record<string, { action: KubeAction; verbs: readonly KubeVerb[] }> = {
  // Exec, attach and port-forward are GET (WebSocket) or POST (SPDY) (pkg/registry/core/pod/rest).
  exec: { action: 'k8s:exec', verbs: ['get', 'create'] },
  attach: { action: 'k8s:attach', verbs: ['get', 'create'] },
  portforward: { action: 'k8s:portforward', verbs: ['get', 'create'] },
  log: { action: 'k8s:logs', verbs: ['get'] },
};

/** The action of a request, or undefined when the API server serves no such request. */
export function actionOf(verb: KubeVerb, resource: string, subresource: string): KubeAction | undefined {
  // `/proxy/` as a path prefix (the legacy form) or the proxy subresource of pods, services, nodes.
  if (verb === 'proxy' || subresource === 'proxy') return 'k8s:proxy';
  if (resource === 'pods' && Object.hasOwn(POD_CONNECT, subresource)) {
    const c = POD_CONNECT[subresource]!;
    return c.verbs.includes(verb) ? c.action : undefined;
  }
  return `k8s:${verb}`;
}
