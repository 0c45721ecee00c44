/**
 * What `postern dev` puts in front of the demo cluster (a STAND-IN for one: cli/dev/demo-kube.ts):
 * one Cedar document (docs/kubernetes.md, "Actions and facts") and the masking of the demo
 * Kubernetes connection. Every rule says why in a `@reason`, which kubectl prints in a Forbidden.
 *
 * Chosen for the demo: exec and attach run at once for the "dba" group and wait for a DBA's
 * approval for the demo group (as `sudo` does on the demo SSH connection), so one command shows
 * both; deleting in `prod` waits for a DBA; Secret values are masked for everyone but admins.
 */
import type { MaskingConfig } from '../../core/mask/config.ts';

export const DEMO_KUBE_POLICY = `// The demo group reads the cluster: objects, lists, watches (kubectl get -w) and logs.
@reason("the demo group may read the cluster")
permit(
  principal in Postern::Group::"demo",
  action in [
    Postern::Action::"connect", Postern::Action::"k8s:get", Postern::Action::"k8s:list",
    Postern::Action::"k8s:watch", Postern::Action::"k8s:logs"
  ],
  resource
);

// It changes objects outside prod. A request across all namespaces (-A) has namespace "" and
// reaches prod too, so it is not covered.
@reason("the demo group may change objects outside prod")
permit(
  principal in Postern::Group::"demo",
  action in [
    Postern::Action::"k8s:create", Postern::Action::"k8s:update", Postern::Action::"k8s:patch",
    Postern::Action::"k8s:delete"
  ],
  resource
) when { context.namespace != "prod" && context.namespace != "" };

// Deleting an object in prod waits for a DBA's approval.
@reason("deleting in prod waits for a DBA's approval")
@approval("dba")
@approval_timeout("15m")
permit(principal in Postern::Group::"demo", action == Postern::Action::"k8s:delete", resource)
  when { context.namespace == "prod" };

// Namespaces are the cluster admins' business: nobody creates, changes or deletes one through
// here (deleting one deletes everything in it).
@reason("namespaces are not created, changed or deleted through Postern")
forbid(
  principal,
  action in [
    Postern::Action::"k8s:create", Postern::Action::"k8s:update", Postern::Action::"k8s:patch",
    Postern::Action::"k8s:delete"
  ],
  resource
) when { context.resource == "namespaces" };

// Nor a whole collection at once (a DELETE without a name: client libraries' deleteCollection;
// kubectl delete --all deletes one by one, each decided on its own).
@reason("nobody deletes a whole collection through Postern: delete objects by name")
forbid(principal, action == Postern::Action::"k8s:deletecollection", resource);

// exec and attach: a DBA at once; the demo group waits for a DBA's approval. Either way the
// session is recorded.
@reason("DBAs may read the cluster and exec into pods")
permit(
  principal in Postern::Group::"dba",
  action in [
    Postern::Action::"connect", Postern::Action::"k8s:get", Postern::Action::"k8s:list",
    Postern::Action::"k8s:watch", Postern::Action::"k8s:logs", Postern::Action::"k8s:exec",
    Postern::Action::"k8s:attach"
  ],
  resource
);
@reason("exec into a pod waits for a DBA's approval")
@approval("dba")
@approval_timeout("15m")
permit(
  principal in Postern::Group::"demo",
  action in [Postern::Action::"k8s:exec", Postern::Action::"k8s:attach"],
  resource
);

// Admins read everything, and see Secret values and detected values (card numbers) in clear.
@reason("admins may read the cluster")
permit(
  principal in Postern::Group::"postern-admins",
  action in [
    Postern::Action::"connect", Postern::Action::"k8s:get", Postern::Action::"k8s:list",
    Postern::Action::"k8s:watch", Postern::Action::"k8s:logs"
  ],
  resource
);
@reason("admins see values unmasked")
permit(principal in Postern::Group::"postern-admins", action == Postern::Action::"unmask", resource);
`;

/**
 * No column rules (a cluster has no tables); the value detectors mask what ConfigMaps, literal
 * container env values and Table cells hold (docs/kubernetes.md, "Masking"): card numbers keep
 * their last four digits, anything else detected is redacted. Secret values are masked whatever
 * this says (the `unmask` decision on `k8s:secrets`).
 */
export const DEMO_KUBE_MASKING: MaskingConfig = { columns: [], detectors: { card: 'partial' } };
