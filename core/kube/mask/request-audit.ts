/**
 * The form of a request body the audit trail may keep: Secret values never reach it (issue 12:
 * `kubectl create secret`, `apply` of a Secret). Every `data` and `stringData` value of a Secret
 * in the body, and of the Secret inside its last-applied annotation, is replaced (secret-values.ts);
 * the body of a write to `secrets` that is not JSON (a YAML apply patch, protobuf, a JSON patch
 * whose operations carry values) is not kept at all, only its size.
 *
 * JSON Patch (`application/json-patch+json`) and merge patches name values by path: a patch of
 * a Secret is recorded only when it is a merge patch (an object whose `data`/`stringData` are
 * masked like a Secret's); a JSON Patch on secrets is left out.
 */
import type { ValueMasker } from '../../mask/value-masker.ts';
import { KubeObjectMasker } from './object-masker.ts';
import { decodeProtobufBody, isKubeProtobuf, ProtobufError } from './protobuf-body.ts';
import type { KubeResourceRequest } from '../request.ts';

/** Longest body kept in the audit trail (a bigger one is recorded by size). */
export const MAX_AUDIT_BODY_CHARS = 64 * 1024;

export type AuditBody =
  /** `decoded`: read from a protobuf body (protobuf-body.ts); `metadata only` when only that was. */
  { body: string; decoded?: 'protobuf' | 'protobuf, metadata only' } | { omitted: string; bytes: number };

const dec = new TextDecoder('utf-8', { fatal: true });

/** `values`: the connection's value detectors, for ConfigMap values (none: kept as sent). */
export function auditBody(
  r: KubeResourceRequest,
  contentType: string | undefined,
  body: Uint8Array,
  values?: ValueMasker,
): AuditBody {
  const bytes = body.byteLength;
  if (bytes === 0) return { body: '' };
  if (bytes > MAX_AUDIT_BODY_CHARS) return { omitted: 'too large to record', bytes };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const secrets = r.apiGroup === '' && r.resource === 'secrets';
  if (type === 'application/vnd.kubernetes.protobuf' || (type === '' && isKubeProtobuf(body)))
    return protobufAudit(r, secrets, body, values);
  let value: unknown;
  try {
    value = JSON.parse(dec.decode(body));
  } catch {
    // Not JSON: kept as text only where no Secret value can be in it.
    return secrets || type.includes('protobuf') || type.includes('cbor')
      ? { omitted: `a ${type || 'untyped'} body`, bytes }
      : textOf(body, bytes);
  }
  if (secrets && (type === 'application/json-patch+json' || Array.isArray(value)))
    return { omitted: 'a JSON Patch of a Secret', bytes };
  // A body on secrets is a Secret even when it does not say so (merge and apply patches).
  try {
    new KubeObjectMasker({ secrets: true, ...(values ? { values } : {}) }).mask(
      value,
      secrets ? 'Secret' : undefined,
    );
  } catch {
    return { omitted: 'a body nested too deep to mask', bytes };
  }
  return { body: JSON.stringify(value) };
}

/**
 * A protobuf body (wire fact 1: `kubectl create secret|configmap|namespace`): read, then masked
 * as the same object in JSON would be. On `secrets`, only a body that reads whole as a v1 Secret
 * is kept; a body that does not read is recorded by size.
 */
function protobufAudit(
  r: KubeResourceRequest,
  secrets: boolean,
  body: Uint8Array,
  values: ValueMasker | undefined,
): AuditBody {
  const bytes = body.byteLength;
  let decoded;
  try {
    decoded = decodeProtobufBody(body);
  } catch (e) {
    if (e instanceof ProtobufError)
      return { omitted: `a protobuf body that does not read (${e.message})`, bytes };
    throw e;
  }
  const { object, complete } = decoded;
  if (secrets && !(complete && object['kind'] === 'Secret'))
    return { omitted: 'a protobuf body on secrets that is not a v1 Secret', bytes };
  new KubeObjectMasker({ secrets: true, ...(values ? { values } : {}) }).mask(
    object,
    secrets ? 'Secret' : undefined,
  );
  return { body: JSON.stringify(object), decoded: complete ? 'protobuf' : 'protobuf, metadata only' };
}

function textOf(body: Uint8Array, bytes: number): AuditBody {
  try {
    return { body: dec.decode(body) };
  } catch {
    return { omitted: 'a body that is not text', bytes };
  }
}
