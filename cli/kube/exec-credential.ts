/**
 * What `postern kube-credential` prints: a client.authentication.k8s.io/v1 ExecCredential
 * (Kubernetes client-go credential plugins, KEP-541) with the caller's token. kubectl caches it
 * until `expirationTimestamp` and runs the plugin again after that or on a 401. Pure.
 */
import { CliError } from '../errors.ts';
import { jwtExpiry } from '../token-source/jwt-exp.ts';
import { EXEC_API_VERSION } from './kubeconfig.ts';

/** KUBERNETES_EXEC_INFO is a small JSON object; a larger one is not from kubectl. */
const MAX_EXEC_INFO = 64 * 1024;

export interface ExecCredential {
  apiVersion: typeof EXEC_API_VERSION;
  kind: 'ExecCredential';
  status: { token: string; expirationTimestamp?: string };
}

/** RFC 3339 in UTC, whole seconds (metav1.Time's wire form). */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The credential for `token`. Its expiry is the JWT's `exp`; a token without one gets none (kubectl
 * then keeps it until the server answers 401). A token already expired is refused here: sending it
 * would only earn a 401 with a vaguer message.
 */
export function execCredential(token: string, nowMs: number): ExecCredential {
  if (!token || /[\s\0]/.test(token))
    throw new CliError('token', 'the token is empty or holds whitespace: check the token source');
  const exp = jwtExpiry(token);
  if (exp !== undefined && exp * 1000 <= nowMs)
    throw new CliError(
      'token_expired',
      `the token expired at ${rfc3339(exp)}: get a fresh one (e.g. --issuer --client-id --client-secret)`,
    );
  return {
    apiVersion: EXEC_API_VERSION,
    kind: 'ExecCredential',
    status: { token, ...(exp !== undefined ? { expirationTimestamp: rfc3339(exp) } : {}) },
  };
}

/**
 * Checks KUBERNETES_EXEC_INFO, which kubectl sets to an ExecCredential naming the apiVersion it
 * expects back: it must be ours. Unknown fields (spec.interactive, spec.cluster) are ignored.
 */
export function checkExecInfo(value: string | undefined): void {
  if (value === undefined || value === '') return;
  if (value.length > MAX_EXEC_INFO)
    throw new CliError('exec_info', `KUBERNETES_EXEC_INFO is over ${MAX_EXEC_INFO} bytes`);
  let info: unknown;
  try {
    info = JSON.parse(value);
  } catch {
    throw new CliError('exec_info', 'KUBERNETES_EXEC_INFO is not JSON');
  }
  const apiVersion = (info as { apiVersion?: unknown } | null)?.apiVersion;
  if (apiVersion !== EXEC_API_VERSION)
    throw new CliError(
      'exec_info',
      `kubectl asks for an ExecCredential of ${JSON.stringify(apiVersion)}; postern speaks ` +
        `${EXEC_API_VERSION}: re-run \`postern kube-config\` to rewrite the user's exec entry`,
    );
}
