/**
 * The Kubernetes parts of a connection's shapes (issue 12): its credential (a service-account
 * bearer token, a client certificate and key, or a connector reference), the cluster CA, the
 * impersonation flag, and what a connection shows of them. PEM is checked here
 * (core/kube/cluster-pem.ts) so a bundle the connector could not load is refused now.
 */
import { z } from '@hono/zod-openapi';
import {
  caBundleProblem,
  clientCertificateProblem,
  MAX_CA_CHARS,
  MAX_CLIENT_CERT_CHARS,
} from '../../core/kube/cluster-pem.ts';
import { Allow, Host, Masking, NAME, Port, Ref, Tls } from './schema-fields.ts';

const pemProblem = (check: (text: string) => string | null) => (text: string, ctx: z.RefinementCtx) => {
  const problem = check(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/** The cluster CA: PEM CERTIFICATE blocks (kubeconfig's certificate-authority-data, decoded). */
export const CaBundle = z.string().max(MAX_CA_CHARS).superRefine(pemProblem(caBundleProblem)).openapi({
  description:
    "The cluster CA in PEM (CERTIFICATE blocks only, up to 8 KiB; e.g. base64 -d of the kubeconfig's certificate-authority-data). Not secret: stored and shown. Without it the connector's --ca-file, else the system roots, verify the API server.",
});

/**
 * A bearer token as an HTTP `Authorization` value carries it (RFC 6750 §2.1, b64token widened to
 * any visible ASCII): a service-account JWT is about 1 KB.
 */
const Token = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[\x21-\x7e]+$/, 'visible ASCII characters, no spaces or line breaks (a bearer token)');

const ClientCertificate = z
  .strictObject({
    clientCertificate: z.string().max(MAX_CLIENT_CERT_CHARS),
    clientKey: z.string().max(MAX_CLIENT_CERT_CHARS),
  })
  .superRefine((v, ctx) => {
    const problem = clientCertificateProblem(v.clientCertificate, v.clientKey);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['clientCertificate'] });
  });

export const KubeCredential = z
  .union(
    [
      z.strictObject({ token: Token }),
      ClientCertificate,
      z.strictObject({ ref: Ref, secretKind: z.enum(['bearer_token', 'client_certificate']).optional() }),
    ],
    {
      // Zod's own words for a union no branch matches ("Invalid input") say nothing of what to fix.
      error: (issue) =>
        issue.code === 'invalid_union'
          ? 'a Kubernetes credential is {token}, {clientCertificate, clientKey} (PEM) or {ref, secretKind?: bearer_token | client_certificate}'
          : undefined,
    },
  )
  .openapi({
    description:
      'Write-only: how the gateway authenticates to the API server. {token} (a service-account bearer token) or {clientCertificate, clientKey} (PEM; the key unencrypted) is stored encrypted and never returned; {ref} is resolved by the connector (secretKind says what it holds; default bearer_token; a PEM holding a certificate and its key is presented as a client certificate).',
  });

export const KubeSettings = z
  .strictObject({
    ca: CaBundle.optional(),
    impersonate: z.boolean().default(false).openapi({
      description:
        "Add Impersonate-User/Impersonate-Group from the caller's verified identity, so the cluster's RBAC and audit see the real caller. The connection's credential then needs RBAC `impersonate` on users and groups.",
    }),
  })
  .default({ impersonate: false });

export const CreateKubernetesConnection = z
  .strictObject({
    name: NAME,
    protocol: z.literal('kubernetes'),
    connector: NAME,
    target: z.strictObject({ host: Host, port: Port.default(6443), tls: Tls.default('tls') }),
    credential: KubeCredential,
    kubernetes: KubeSettings,
    allow: Allow,
    masking: Masking.optional(),
  })
  .openapi('CreateKubernetesConnection');

export const KubeView = z
  .object({
    ca: z.string().nullable().openapi({ description: 'The cluster CA (PEM), or null' }),
    impersonate: z.boolean(),
  })
  .openapi('ConnectionKubernetes');

/** PATCH: `ca: null` drops the CA. */
export const KubePatch = z
  .strictObject({ ca: CaBundle.nullable().optional(), impersonate: z.boolean().optional() })
  .openapi({
    description: 'Kubernetes only. ca: null drops the CA (the connector then verifies with its own).',
  });
