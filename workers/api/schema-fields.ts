/**
 * Fields the admin API's shapes share (schemas.ts, ssh-connection-schemas.ts): bounded strings,
 * names, a target's address and transport, credentials' parts, allow lists and masking rules.
 * Strings that end up in Postgres startup packets or hostnames exclude control characters (a
 * NUL would end a startup-packet field early: protocol-flow 55.2.1).
 */
import { z } from '@hono/zod-openapi';
import { NAME_PATTERN } from '../names.ts';
import { TARGET_TLS, type TargetTls } from '../../core/tunnel/protocol.ts';

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
export const text = (max: number) => z.string().min(1).max(max).regex(NO_CONTROL, 'no control characters');

/** A DNS label (RFC 1035 2.3.1, lower case): connection names appear in hostnames. */
export const NAME = z
  .string()
  .regex(
    NAME_PATTERN,
    'lower-case letters, digits and hyphens, 1-63 characters, no leading or trailing hyphen',
  );

export const Host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'a hostname or IP address');
export const Port = z.number().int().min(1).max(65535);

/**
 * The target's transport (core/tunnel/protocol.ts). The older libpq-style names are accepted
 * and stored normalised: 'disable' is 'none', 'verify-full' is 'postgres-starttls'.
 */
const LEGACY_TLS = { disable: 'none', 'verify-full': 'postgres-starttls' } as const;
export const Tls = z
  .enum([...TARGET_TLS, 'disable', 'verify-full'])
  .transform((v): TargetTls =>
    v in LEGACY_TLS ? LEGACY_TLS[v as keyof typeof LEGACY_TLS] : (v as TargetTls),
  )
  .openapi({
    description:
      "none: plain TCP; tls: TLS from the first byte (Postgres: PG17 direct TLS); postgres-starttls: Postgres SSLRequest, then TLS. TLS verifies the CA and hostname. SSH takes none. 'disable' and 'verify-full' are accepted as none and postgres-starttls.",
  });

export const Password = z.strictObject({
  password: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[^\u0000]*$/, 'no NUL characters'),
});
export const Ref = z
  .string()
  .max(260)
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/[^\u0000-\u001f\u007f]{1,255})$/,
    'env:NAME or file:/absolute/path',
  );

export const Principals = z.array(text(256)).max(1000);

export const IDENT = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[^\u0000-\u001f\u007f."]+$/, 'a table or column name (no dots, quotes or control characters)');
export const StrategyEnum = z.enum(['redact', 'partial', 'token']);
export const DetectorStrategy = z.enum(['redact', 'partial', 'token', 'off']);

export const Masking = z
  .strictObject({
    columns: z
      .array(z.strictObject({ table: IDENT, column: IDENT, strategy: StrategyEnum }))
      .max(500)
      .default([]),
    detectors: z
      .strictObject({
        email: DetectorStrategy.optional(),
        card: DetectorStrategy.optional(),
        ssn: DetectorStrategy.optional(),
        phone: DetectorStrategy.optional(),
        iban: DetectorStrategy.optional(),
        ipv4: DetectorStrategy.optional(),
        ipv6: DetectorStrategy.optional(),
        jwt: DetectorStrategy.optional(),
        cloud_key: DetectorStrategy.optional(),
        private_key: DetectorStrategy.optional(),
      })
      .default({}),
  })
  .openapi('Masking', {
    description:
      'Column rules (table.column → strategy) and value detectors (default redact). Who sees unmasked data is the Cedar `unmask` decision.',
  });

export const Allow = z
  .strictObject({ subjects: Principals.default([]), groups: Principals.default([]) })
  .default({ subjects: [], groups: [] })
  .openapi({
    description:
      'Shorthand policy: listed subjects and groups get every action on this connection (connect, all SQL or SSH actions, unmask). Use policies for finer rules.',
  });
