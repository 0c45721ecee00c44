import { describe, expect, it } from 'vitest';
import { caBundleProblem, clientCertificatePem, clientCertificateProblem } from './cluster-pem.ts';

/** A PEM block around a minimal DER SEQUENCE (30 03 02 01 01: SEQUENCE { INTEGER 1 }). */
const block = (label: string, body = 'MAMCAQE=') =>
  `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

describe('caBundleProblem', () => {
  it('accepts CERTIFICATE blocks with whitespace between them', () => {
    expect(caBundleProblem(block('CERTIFICATE'))).toBeNull();
    expect(caBundleProblem(`\n${block('CERTIFICATE')}\n\n${block('CERTIFICATE')}`)).toBeNull();
    expect(caBundleProblem(block('CERTIFICATE').replace(/\n/g, '\r\n'))).toBeNull();
  });

  it.each([
    ['empty', '', /no "-----BEGIN CERTIFICATE-----" block/],
    ['a key', block('PRIVATE KEY'), /only CERTIFICATE blocks/],
    [
      'mismatched labels',
      block('CERTIFICATE').replace('END CERTIFICATE', 'END X509 CRL'),
      /ends with END X509 CRL/,
    ],
    ['BEGIN without END', '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n', /outside the PEM blocks/],
    ['text before', `subject=CN=ca\n${block('CERTIFICATE')}`, /outside the PEM blocks/],
    ['a body longer than its DER', block('CERTIFICATE', 'MAMCAQEA'), /not DER/],
    ['a body shorter than its DER', block('CERTIFICATE', 'MAQCAQE='), /not DER/],
    ['not a SEQUENCE', block('CERTIFICATE', 'AgEB'), /not DER/],
    ['bad base64', block('CERTIFICATE', 'M==A'), /not base64/],
    ['nine certificates', block('CERTIFICATE').repeat(9), /more than 8 certificates/],
    ['over 8 KiB', `${block('CERTIFICATE')}${' '.repeat(8200)}`, /longer than 8192/],
  ])('refuses %s', (_what, text, why) => {
    expect(caBundleProblem(text)).toMatch(why);
  });
});

describe('clientCertificateProblem', () => {
  it('takes certificate blocks and one unencrypted key', () => {
    for (const label of ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'])
      expect(clientCertificateProblem(block('CERTIFICATE').repeat(2), block(label))).toBeNull();
    expect(clientCertificatePem(` ${block('CERTIFICATE')}`, block('PRIVATE KEY'))).toBe(
      `${block('CERTIFICATE').trim()}\n${block('PRIVATE KEY').trim()}\n`,
    );
  });

  it.each([
    [
      'a key as the certificate',
      block('PRIVATE KEY'),
      block('PRIVATE KEY'),
      /certificate: give CERTIFICATE blocks only/,
    ],
    ['an encrypted key', block('CERTIFICATE'), block('ENCRYPTED PRIVATE KEY'), /key: give one unencrypted/],
    ['two keys', block('CERTIFICATE'), block('PRIVATE KEY').repeat(2), /key: give one/],
    ['a garbled key', block('CERTIFICATE'), block('PRIVATE KEY', 'AgEB'), /key: .*not DER/],
    ['too much', block('CERTIFICATE'), block('PRIVATE KEY') + ' '.repeat(8192), /longer than 8192/],
  ])('refuses %s', (_what, cert, key, why) => {
    expect(clientCertificateProblem(cert, key)).toMatch(why);
  });
});
