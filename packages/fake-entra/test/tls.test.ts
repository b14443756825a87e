// The development certificates: every one must be one that TLS stacks accept.
import { expect, test } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificateAuthority, issueServerCertificate, randomSerial } from '../src/tls.ts';

test('serial numbers are positive minimal DER integers of 16 bytes (OpenSSL refuses "illegal padding")', () => {
  // With a leading 0x00 byte followed by one below 0x80 (1 in 32 of the old serials), creating
  // the HTTPS server failed with "asn1 encoding routines::illegal padding".
  for (let i = 0; i < 5000; i++) {
    const serial = randomSerial();
    expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/);
  }
});

test('a server certificate and the CA parse with node:crypto', async () => {
  const ca = await ensureCertificateAuthority(join(mkdtempSync(join(tmpdir(), 'fake-ca-')), 'ca'));
  const server = await issueServerCertificate(ca, ['fake-entra']);
  const cert = new X509Certificate(server.certPem);
  expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  expect(cert.subjectAltName).toContain('DNS:fake-entra');
});
