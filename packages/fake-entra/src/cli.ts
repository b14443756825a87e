#!/usr/bin/env node
// fake-entra: runs the fake Entra ID issuer standalone (development, compose, Kubernetes).
// The one place that reads the environment: FAKE_ENTRA_CA_DIR is the default of --ca-dir.
import { copyFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE } from './config.ts';
import { DEFAULT_CA_DIR, FakeEntra, type FakeEntraOptions } from './server.ts';

const USAGE = `usage: fake-entra [--port 5050] [--host ADDR] [--config FILE] [--issuer-url URL] [--public-url URL]
                  [--tls-hostnames a,b] [--ca-dir DIR | --tls-cert FILE --tls-key FILE] [--ca-cert-out FILE]
                  [--enable-harness] [--dns-mode]
  --dns-mode answers as login.microsoftonline.com and graph.microsoft.com (port 443 unless --port)
  --ca-dir defaults to $FAKE_ENTRA_CA_DIR, else ./${DEFAULT_CA_DIR}`;

function fail(message: string): never {
  console.error(`fake-entra: ${message}`);
  process.exit(1);
}

function options(argv: string[]): FakeEntraOptions & { caCertOut?: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        config: { type: 'string' },
        'issuer-url': { type: 'string' },
        'public-url': { type: 'string' },
        'tls-hostnames': { type: 'string' },
        'ca-dir': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'ca-cert-out': { type: 'string' },
        'enable-harness': { type: 'boolean', default: false },
        'dns-mode': { type: 'boolean', default: false },
        // The old name, from when the harness was the minting endpoint alone.
        'enable-minting': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const portText = values.port ?? (values['dns-mode'] ? '443' : '5050');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    fail(`--port must be a port number (0-65535), got "${portText}"`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    fail('--tls-cert and --tls-key go together');
  if (values['tls-cert'] && values['ca-dir'])
    fail('give either --ca-dir or --tls-cert/--tls-key, not both');
  return {
    port,
    host: values.host,
    config: values.config ? resolve(values.config) : DEFAULT_CONFIG_FILE,
    issuerUrl: values['issuer-url'],
    publicUrl: values['public-url'],
    tlsHostnames: values['tls-hostnames']
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    tls: values['tls-cert']
      ? { certFile: resolve(values['tls-cert']), keyFile: resolve(values['tls-key']!) }
      : { caDir: resolve(values['ca-dir'] || process.env.FAKE_ENTRA_CA_DIR || DEFAULT_CA_DIR) },
    enableHarness: values['enable-harness'] || values['enable-minting'],
    dnsMode: values['dns-mode'],
    caCertOut: values['ca-cert-out'] ? resolve(values['ca-cert-out']) : undefined,
  };
}

const opts = options(process.argv.slice(2));
let fake: FakeEntra;
try {
  fake = await FakeEntra.start(opts);
} catch (error) {
  fail((error as Error).message);
}
// Publish only the CA certificate where the services read it, so that the directory holding
// the CA's private key need not be shared with them. Written atomically (tmp + rename).
if (opts.caCertOut) {
  const tmp = join(dirname(opts.caCertOut), `.ca-${process.pid}.tmp`);
  try {
    copyFileSync(fake.caCertFile, tmp);
    renameSync(tmp, opts.caCertOut);
  } catch (error) {
    await fake.close();
    fail(`--ca-cert-out: cannot write ${opts.caCertOut} (${(error as Error).message})`);
  }
}
console.log(`fake-entra listening on port ${fake.port}
  issuer base (https):     ${fake.baseUrl}
  browser pages:           ${fake.publicUrl}
  Microsoft Graph:         ${fake.graphBaseUrl}${opts.dnsMode ? '   (DNS mode: resolve both host names to this machine)' : ''}
  authority (for MSAL):    ${fake.authority()}
  issuer:                  ${fake.issuer()}
  CA certificate:          ${opts.caCertOut ?? fake.caCertFile}   (trust it: NODE_EXTRA_CA_CERTS=${opts.caCertOut ?? fake.caCertFile})
  configuration:           ${typeof opts.config === 'string' ? opts.config : '(object)'}
  test harness:            ${opts.enableHarness ? `${fake.baseUrl}/_harness/ (ENABLED: test use only; recorded requests hold secrets)` : 'disabled'}`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`fake-entra: ${signal} received, stopping`);
  const timer = setTimeout(() => process.exit(1), 10_000);
  timer.unref();
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
