/**
 * Credentials the connector resolves itself, so they never leave the private network at rest:
 * `env:NAME` or `file:/absolute/path`. The value is sent only inside the session's data channel.
 */
import { readFileSync, statSync } from 'node:fs';

const MAX_FILE_BYTES = 4096;

export function resolveCredential(ref: string): string | undefined {
  if (ref.startsWith('env:')) return process.env[ref.slice(4)] || undefined;
  if (ref.startsWith('file:/')) {
    const path = ref.slice(5);
    try {
      if (statSync(path).size > MAX_FILE_BYTES) return undefined;
      return readFileSync(path, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
