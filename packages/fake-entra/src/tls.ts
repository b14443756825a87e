// Certificates for the fake issuer: a development CA (created once, trusted by clients through
// NODE_EXTRA_CA_CERTS) and short-lived server certificates it signs. node-forge builds the
// X.509 structures; node:crypto generates the RSA keys (much faster than forge's JS keygen).
import { generateKeyPair as generateKeyPairCb, randomBytes, sign } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPair = promisify(generateKeyPairCb);

export interface CertificateAuthority {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function rsaKeyPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * A positive 16-byte serial in minimal DER: the first byte is 0x40-0x7f. (A first byte of 0x00
 * followed by one below 0x80 is a non-minimal INTEGER that OpenSSL rejects with "illegal
 * padding": the old form, '0' + 31 random hex digits, produced one in 1 of 32 certificates.)
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/**
 * Signs with node:crypto instead of forge's pure-JS RSA, which is ~30x slower (seconds per
 * certificate under jest's module sandbox).
 */
function signCertificate(cert: forge.pki.Certificate, privateKeyPem: string): void {
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.siginfo.algorithmOid = cert.signatureOid;
  // getTBSCertificate exists in forge but is missing from @types/node-forge.
  cert.tbsCertificate = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
  ).getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, privateKeyPem).toString('binary');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function readAuthority(certFile: string, keyFile: string): Promise<CertificateAuthority> {
  const [certPem, keyPem] = await Promise.all([
    readFile(certFile, 'utf8'),
    readFile(keyFile, 'utf8'),
  ]);
  return { certFile, keyFile, certPem, keyPem };
}

async function createAuthorityPem(): Promise<{ certPem: string; keyPem: string }> {
  const { privateKeyPem, publicKeyPem } = await rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * DAY_MS);
  const subject = [
    { name: 'commonName', value: 'fake-entra development CA' },
    { name: 'organizationName', value: 'koa-entra test harness (not for production)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, privateKeyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem };
}

/**
 * Returns the CA in `dir` (`ca.pem`, `ca-key.pem`), creating it first if missing. Safe when
 * several processes call it at once: a lock directory makes exactly one of them write the pair.
 */
export async function ensureCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  if ((await exists(certFile)) && (await exists(keyFile))) return readAuthority(certFile, keyFile);

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, '.ca.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if ((await exists(certFile)) && (await exists(keyFile)))
        return readAuthority(certFile, keyFile);
      // A lock left by a crashed process is older than any real CA creation takes.
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 20_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the CA lock ${lock}`, { cause: error });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    if ((await exists(certFile)) && (await exists(keyFile)))
      return readAuthority(certFile, keyFile);
    const { certPem, keyPem } = await createAuthorityPem();
    await writeFile(join(lock, 'ca-key.pem'), keyPem, { mode: 0o600 });
    await writeFile(join(lock, 'ca.pem'), certPem, { mode: 0o644 });
    // Key first: a reader that sees ca.pem always finds its key.
    await rename(join(lock, 'ca-key.pem'), keyFile);
    await rename(join(lock, 'ca.pem'), certFile);
    return { certFile, keyFile, certPem, keyPem };
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]*)$/i;

/**
 * Issues a server certificate signed by `ca` for localhost, 127.0.0.1 and ::1 plus `hostnames`
 * (DNS names or IP addresses), valid from yesterday for 30 days.
 */
export async function issueServerCertificate(
  ca: Pick<CertificateAuthority, 'certPem' | 'keyPem'>,
  hostnames: readonly string[] = [],
): Promise<ServerCertificate> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const { privateKeyPem, publicKeyPem } = await rsaKeyPair();
  const names = [
    ...new Set([
      'localhost',
      '127.0.0.1',
      '::1',
      ...hostnames.map((h) => h.trim()).filter(Boolean),
    ]),
  ];
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY_MS);
  cert.setSubject([
    { name: 'commonName', value: names.find((n) => !IP_ADDRESS.test(n)) ?? 'localhost' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: names.map((n) => (IP_ADDRESS.test(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  signCertificate(cert, ca.keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem };
}

/** Self-signed certificate wrapping a signing key, so the JWKS can publish x5c/x5t as Entra does. */
export function selfSignedDer(
  privateKeyPem: string,
  publicKeyPem: string,
  commonName: string,
): Buffer {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 365 * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer([{ name: 'commonName', value: commonName }]);
  signCertificate(cert, privateKeyPem);
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

export { rsaKeyPair };
