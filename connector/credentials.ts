/**
 * Credentials the connector resolves itself, so they never leave the private network at rest:
 * `env:NAME` or `file:/absolute/path`. The value is sent only inside the session's data channel.
 */
import { readFileSync, statSync } from 'node:fs';
import { MAX_RESOLVED_CREDENTIAL_CHARS } from '../core/tunnel/protocol.ts';

/**
 * The secret a ref names (a password, or an SSH private key in PEM), or undefined when it is
 * missing or larger than the data channel's hello may carry (core/tunnel/protocol.ts).
 */
export function resolveCredential(ref: string): string | undefined {
  if (ref.startsWith('env:')) {
    const value = process.env[ref.slice(4)];
    return value && value.length <= MAX_RESOLVED_CREDENTIAL_CHARS ? value : undefined;
  }
  if (ref.startsWith('file:/')) {
    const path = ref.slice(5);
    try {
      if (statSync(path).size > MAX_RESOLVED_CREDENTIAL_CHARS) return undefined;
      // A PEM key keeps its final newline: some parsers want the armour's last line ended.
      const text = readFileSync(path, 'utf8');
      return (text.includes('-----BEGIN ') ? text : text.trim()) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
