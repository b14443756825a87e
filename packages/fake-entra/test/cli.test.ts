// The standalone server: prints where it listens and the CA file, stops on SIGTERM, and
// refuses a bad configuration or bad flags with a message naming the problem (exit 1).
import { describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function run(
  args: string[],
  untilOutput?: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string; port?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    let stderr = '';
    let port: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', async (d: Buffer) => {
      stdout += d;
      if (untilOutput && untilOutput.test(stdout) && port === undefined) {
        port = Number(/listening on port (\d+)/.exec(stdout)?.[1]);
        try {
          const res = await fetch(`https://localhost:${port}/healthz`);
          stdout += `\nhealthz=${res.status}`;
        } catch (error) {
          // e.g. a certificate from a CA this process does not trust
          stdout += `\nhealthz=${(error as Error).message}`;
        } finally {
          child.kill('SIGTERM');
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, port });
    });
  });
}

describe('fake-entra CLI', () => {
  test("--dns-mode answers as Entra's own hosts (443 unless --port)", async () => {
    const { code, stdout } = await run(['--dns-mode', '--port', '0'], /test harness:/);
    expect(stdout).toMatch(/issuer base \(https\):\s+https:\/\/login\.microsoftonline\.com:\d+/);
    expect(stdout).toMatch(
      /authority \(for MSAL\):\s+https:\/\/login\.microsoftonline\.com:\d+\/3f1d2c4b/,
    );
    expect(stdout).toMatch(/Microsoft Graph:\s+https:\/\/graph\.microsoft\.com:\d+ +\(DNS mode/);
    expect(stdout).toContain('healthz=200'); // /healthz answers on any host
    expect(code).toBe(0);
  });

  test('starts, prints its URLs and CA file, serves https, and stops on SIGTERM', async () => {
    const { code, stdout } = await run(
      ['--port', '0', '--tls-hostnames', 'fake-entra', '--enable-harness'],
      /test harness:/,
    );
    expect(stdout).toMatch(/issuer base \(https\):\s+https:\/\/localhost:\d+/);
    expect(stdout).toMatch(/browser pages:\s+http:\/\/localhost:\d+/);
    expect(stdout).toMatch(/CA certificate:\s+\S+ca\.pem/);
    expect(stdout).toMatch(/\/_harness\/ \(ENABLED/);
    expect(stdout).toContain('healthz=200');
    expect(stdout).toContain('SIGTERM received, stopping');
    expect(code).toBe(0);
  }, 20_000);

  test('still takes --enable-minting, the old name of --enable-harness', async () => {
    const { code, stdout } = await run(['--port', '0', '--enable-minting'], /test harness:/);
    expect(stdout).toMatch(/\/_harness\/ \(ENABLED/);
    expect(code).toBe(0);
  }, 20_000);

  test('publishes only the CA certificate with --ca-cert-out (the private key stays in --ca-dir)', async () => {
    // The default CA (the one this test process trusts through NODE_EXTRA_CA_CERTS).
    const caFile = process.env.NODE_EXTRA_CA_CERTS!;
    const trustDir = mkdtempSync(join(tmpdir(), 'fake-entra-trust-'));
    const out = join(trustDir, 'ca.pem');
    const { code, stdout } = await run(['--port', '0', '--ca-cert-out', out], /test harness:/);
    expect(code).toBe(0);
    expect(stdout).toContain(`NODE_EXTRA_CA_CERTS=${out}`);
    expect(readdirSync(trustDir)).toEqual(['ca.pem']);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(caFile, 'utf8'));
    expect(readFileSync(out, 'utf8')).not.toContain('PRIVATE KEY');
  }, 20_000);

  test('takes the CA directory from --ca-dir, else FAKE_ENTRA_CA_DIR, else ./.certs', async () => {
    const fromEnv = mkdtempSync(join(tmpdir(), 'fake-entra-env-ca-'));
    const fromFlag = mkdtempSync(join(tmpdir(), 'fake-entra-flag-ca-'));
    const env = { ...process.env, FAKE_ENTRA_CA_DIR: fromEnv };
    const byEnv = await run(['--port', '0'], /test harness:/, env);
    expect(byEnv.stdout).toContain(`CA certificate:          ${join(fromEnv, 'ca.pem')}`);
    expect(readdirSync(fromEnv).sort()).toEqual(['ca-key.pem', 'ca.pem']);
    const byFlag = await run(['--port', '0', '--ca-dir', fromFlag], /test harness:/, env);
    expect(byFlag.stdout).toContain(`CA certificate:          ${join(fromFlag, 'ca.pem')}`);
    const { FAKE_ENTRA_CA_DIR: _unset, ...withoutEnv } = process.env;
    const byDefault = await run(['--port', '0'], /test harness:/, withoutEnv);
    expect(byDefault.stdout).toContain(
      `CA certificate:          ${join(process.cwd(), '.certs', 'ca.pem')}`,
    );
  }, 40_000);

  test('exits 1 naming --ca-cert-out when it cannot be written', async () => {
    const { code, stderr } = await run(['--port', '0', '--ca-cert-out', '/nonexistent-dir/ca.pem']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/--ca-cert-out: cannot write \/nonexistent-dir\/ca\.pem/);
  }, 20_000);

  test('exits 1 naming the field of a bad configuration file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-entra-cli-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [{ id: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e' }],
        users: [{ upn: 'x@y', oid: 'nope', name: 'X' }],
      }),
    );
    const { code, stderr } = await run(['--port', '0', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('bad.json');
    expect(stderr).toContain('users[0].oid: Invalid GUID');
  }, 20_000);

  test.each([
    [['--port', 'abc'], /--port must be a port number/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['--issuer-url', 'not a url', '--port', '0'], /issuerUrl is not a URL/],
  ])(
    'exits 1 on bad flags %j',
    async (args, message) => {
      const { code, stderr } = await run(args as string[]);
      expect(code).toBe(1);
      expect(stderr).toMatch(message as RegExp);
    },
    20_000,
  );
});
