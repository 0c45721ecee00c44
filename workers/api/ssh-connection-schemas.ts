/**
 * The SSH parts of a connection's shapes: its credential (a private key checked now, a password
 * or a connector reference), the target host key pin, and what a connection shows of its keys.
 */
import { z } from '@hono/zod-openapi';
import { MAX_PRIVATE_KEY_CHARS, privateKeyProblem } from '../../core/ssh/private-key-pem.ts';
import { keyLine, MAX_KEY_LINE_CHARS, parseKeyLine } from '../../core/ssh/public-key-line.ts';
import { Allow, Host, Masking, NAME, Password, Port, Ref, Tls } from './schema-fields.ts';

/** An SSH private key, checked (core/ssh/private-key-pem.ts) so an unusable key is refused now. */
export const PrivateKey = z
  .string()
  .max(MAX_PRIVATE_KEY_CHARS)
  .superRefine((text, ctx) => {
    const problem = privateKeyProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const SshCredential = z
  .union([
    Password,
    z.strictObject({ privateKey: PrivateKey }),
    z.strictObject({ ref: Ref, secretKind: z.enum(['password', 'private_key']).optional() }),
  ])
  .openapi({
    description:
      'Write-only: how the gateway logs in to the target. {privateKey} (unencrypted OpenSSH or PKCS#8 PEM, ECDSA or RSA) or {password} is stored encrypted and never returned; {ref} is resolved by the connector (secretKind says what it holds; default private_key).',
  });

/** An OpenSSH public-key line, stored as `type base64` (core/ssh/public-key-line.ts). */
export const HostKeyLine = z
  .string()
  .max(MAX_KEY_LINE_CHARS)
  .transform((line, ctx) => {
    try {
      return keyLine(parseKeyLine(line));
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  })
  .openapi({
    type: 'string',
    description: 'An OpenSSH public key line, e.g. from ssh-keyscan -t ecdsa HOST',
  });

export const CreateSshConnection = z
  .strictObject({
    name: NAME,
    protocol: z.literal('ssh'),
    connector: NAME,
    target: z.strictObject({ host: Host, port: Port.default(22), tls: Tls.default('none') }),
    credential: SshCredential,
    ssh: z.strictObject({ targetHostKey: HostKeyLine.optional() }).optional().openapi({
      description:
        "targetHostKey pins the target's host key; without it the first session learns it (audited) and later ones enforce it.",
    }),
    allow: Allow,
    masking: Masking.optional(),
  })
  .openapi('CreateSshConnection');

export const SshView = z
  .object({
    hostKeys: z.array(z.string()).openapi({
      description:
        "The gateway's own host keys for this connection (OpenSSH lines): what clients put in known_hosts",
    }),
    targetHostKey: z.string().nullable(),
    targetHostKeyLearnedAt: z
      .string()
      .nullable()
      .openapi({ description: 'When the pin was learned on first use; null when set by an admin' }),
  })
  .openapi('ConnectionSsh');
