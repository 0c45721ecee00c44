/**
 * A throwaway CA, a serving certificate for 127.0.0.1/localhost, and client certificates on
 * demand (CN = user, O = group: how kube-apiserver reads an x509 client identity), made with the
 * openssl CLI (scripts/os-packages-plan.ts lists it) in a temp dir that `cleanup` removes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** A client certificate signed by the same CA. */
  clientCert(user: string, groups?: string[]): { certPem: string; keyPem: string };
  cleanup(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'postern-kube-pki-'));
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  sh([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=postern-kube-stand-in-ca',
  ]);
  const sign = (name: string, subj: string, ext: string) => {
    sh(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    sh([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]);
    return { certPem: read(`${name}.pem`), keyPem: read(`${name}.key`) };
  };
  const server = sign(
    'server',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  let n = 0;
  return {
    caPem: read('ca.pem'),
    ...server,
    clientCert(user, groups = []) {
      // openssl -subj takes /O=a/O=b for several groups; names are test input, kept to a safe alphabet.
      if (![user, ...groups].every((s) => /^[\w:.@-]+$/.test(s)))
        throw new Error('clientCert: unsupported characters in a name');
      return sign(
        `client${n++}`,
        `/CN=${user}${groups.map((g) => `/O=${g}`).join('')}`,
        'extendedKeyUsage=clientAuth\n',
      );
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
