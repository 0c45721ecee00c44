/**
 * The masked Secret list row of `postern bench` (issue 12): how fast Postern's own masker
 * (core/kube/mask/json-body.ts, what the Kubernetes session runs on every response) masks a
 * large `SecretList` as the API server writes it (`kubectl get secrets -o json`), in-process on
 * one core. Half the Secrets carry the `kubectl.kubernetes.io/last-applied-configuration`
 * annotation `kubectl apply` leaves (the Secret again, in clear), the costly shape: it is parsed,
 * masked and written back.
 */
import { HmacSha256 } from '../../core/crypto/hmac-sync.ts';
import { maskJsonBody } from '../../core/kube/mask/json-body.ts';
import { LAST_APPLIED } from '../../core/kube/mask/object-masker.ts';
import { ValueMasker } from '../../core/mask/value-masker.ts';
import { DEMO_KUBE_MASKING } from '../dev/demo-kube-policy.ts';
import { DETECTORS } from '../../core/mask/detectors.ts';

export interface SecretMaskingResult {
  mbPerSecond: number;
  /** Size of one SecretList. */
  listMegabytes: number;
  secrets: number;
  /** Secret values masked in one list (`data` values and those in the annotations). */
  maskedValues: number;
  /** Total input masked. */
  megabytes: number;
}

/** Keys of each Secret: an opaque app Secret of ~2 KB in JSON, as kube-apiserver returns it. */
const KEYS = ['username', 'password', 'api-key', 'tls.crt'];

/** `n` Secrets as one `SecretList` JSON body (items without kind, as the API server lists them). */
export function secretListBody(n: number): Uint8Array {
  const items = [];
  for (let i = 0; i < n; i++) {
    const name = `app-${i.toString().padStart(5, '0')}`;
    const data: Record<string, string> = {};
    for (const [k, key] of KEYS.entries())
      data[key] = Buffer.from(`${key}-${i}-`.padEnd(k === 3 ? 900 : 40, 'x')).toString('base64');
    const metadata: Record<string, unknown> = {
      name,
      namespace: 'bench',
      uid: `6f1c${i.toString(16).padStart(4, '0')}-8c1e-4b7a-9a3e-2f5d6c7b8a90`,
      resourceVersion: String(1000 + i),
      creationTimestamp: '2026-12-04T00:00:00Z',
      labels: { app: 'bench', tier: i % 2 ? 'api' : 'web' },
    };
    if (i % 2 === 0)
      metadata['annotations'] = {
        [LAST_APPLIED]: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: 'bench', annotations: {} },
          stringData: { username: `user-${i}`, password: `pw-${i}-s3cr3t` },
          type: 'Opaque',
        }),
      };
    items.push({ metadata, data, type: 'Opaque' });
  }
  const list = { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '99999' }, items };
  return new TextEncoder().encode(JSON.stringify(list));
}

/** Detectors as the demo Kubernetes connection sets them for a caller without unmask. */
function demoValueMasker(): ValueMasker {
  const detectors = Object.fromEntries(
    DETECTORS.map((k) => [k, DEMO_KUBE_MASKING.detectors[k] ?? 'redact']).filter(([, s]) => s !== 'off'),
  );
  return new ValueMasker(detectors, new HmacSha256(new TextEncoder().encode('bench')));
}

/** Masks one list as a caller without `unmask` gets it; throws when the masker refuses it. */
export function maskSecretList(
  body: Uint8Array,
  values = demoValueMasker(),
): { body: Uint8Array; maskedValues: number } {
  const r = maskJsonBody(body, { secrets: true, values }, 'Secret');
  if (!r.ok) throw new Error(`the masker refused the SecretList: ${r.why}`);
  return { body: r.body, maskedValues: r.counts['secret'] ?? 0 };
}

/** Masks a SecretList of `secrets` Secrets until `megabytes` went through; MB/s of input. */
export function measureSecretMasking(megabytes = 100, secrets = 5000): SecretMaskingResult {
  const body = secretListBody(secrets);
  const values = demoValueMasker();
  const listMb = body.byteLength / (1024 * 1024);
  const { maskedValues } = maskSecretList(body, values); // warm-up, and the count
  const rounds = Math.max(1, Math.ceil(megabytes / listMb));
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) maskSecretList(body, values);
  const seconds = (performance.now() - t0) / 1000;
  return {
    mbPerSecond: (rounds * listMb) / seconds,
    listMegabytes: listMb,
    secrets,
    maskedValues,
    megabytes: rounds * listMb,
  };
}
