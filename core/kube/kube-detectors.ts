/**
 * The value detectors a Kubernetes session runs over ConfigMap values, literal container `env`
 * values and Table cells (mask/object-masker.ts): the ones the connection's masking names and no
 * `unmask` permit lifts for this caller, as for SSH terminal output
 * (core/ssh/module/ssh-output-masking.ts): a cluster's objects hold names, hashes and numbers
 * people need to read, so a detector the connection does not name stays off. Tokens are keyed
 * per connection, as in SQL results and terminals, so a value tokenizes the same way everywhere.
 */
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { sessionMasking, type MaskingConfig } from '../mask/config.ts';
import type { DetectorKind } from '../mask/detectors.ts';
import { ValueMasker, type Strategy } from '../mask/value-masker.ts';
import type { CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';

const enc = new TextEncoder();

export function kubeValueMasker(
  config: MaskingConfig,
  policies: CompiledPolicies,
  subject: PolicySubject,
  maskingSecret: string,
  connectionId: string,
): { values?: ValueMasker; unmasked: string[] } {
  const session = sessionMasking({ columns: [], detectors: config.detectors }, policies, subject);
  const named = (kind: DetectorKind) =>
    config.detectors[kind] !== undefined && config.detectors[kind] !== 'off';
  const detectors: Partial<Record<DetectorKind, Strategy>> = {};
  for (const [kind, strategy] of Object.entries(session.detectors) as Array<[DetectorKind, Strategy]>)
    if (named(kind)) detectors[kind] = strategy;
  const unmasked = session.unmasked.filter((id) => named(id.slice('detector:'.length) as DetectorKind));
  if (Object.keys(detectors).length === 0) return { unmasked };
  const key = new HmacSha256(enc.encode(`postern-masking-v1:${maskingSecret}`)).digest(
    enc.encode(connectionId),
  );
  return { values: new ValueMasker(detectors, new HmacSha256(key)), unmasked };
}
