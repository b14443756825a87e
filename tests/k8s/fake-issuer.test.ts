// The fake-entra overlay's issuer, started with the fake-entra CLI (the image's entrypoint) from
// what the overlay mounts and passes to it (its configuration, its CA, its flags), answers the services the way the overlay expects: on the
// in-cluster host names with a certificate they trust, with the issuer they are configured for,
// sending browsers to the Ingress host; and the Ingress reaches it over plain HTTP.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { loadConfig as loadApiConfig } from '@koa-entra/api';
import { describeWith } from '../support/prerequisites.ts';
import { containerEnv } from './support/entra-samples.ts';
import { resolveEnv } from './support/environment.ts';
import { find, kubectl, renderOverlay, repoRoot } from './support/render.ts';
import type { K8sObject } from './support/render.ts';
import { workload } from './support/workloads.ts';

interface Answer {
  status: number;
  body: string;
}

function get(
  url: string,
  options: { ca?: string; servername?: string; port: number },
): Promise<Answer> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: '127.0.0.1',
        port: options.port,
        path: u.pathname,
        ca: options.ca,
        servername: options.servername,
        headers: { host: u.host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describeWith([kubectl], 'k8s fake-entra overlay: the issuer as deployed', () => {
  let objects: K8sObject[];
  let fake: { port: number; process: ChildProcess };
  let dir: string;
  let args: (flag: string) => string;
  let trustedCa: string;

  beforeAll(async () => {
    objects = await renderOverlay('fake-entra');
    const pod = workload(objects, 'Deployment/fake-entra').template.spec!;
    const container = pod.containers[0]!;
    args = (flag) => {
      const i = container.args!.indexOf(flag);
      if (i < 0) throw new Error(`fake-entra is not given ${flag}`);
      return container.args![i + 1]!;
    };
    // Lay out the files the pod mounts, from the rendered ConfigMap and Secret.
    dir = mkdtempSync(join(tmpdir(), 'k8s-fake-entra-'));
    const files = (mountPath: string): Record<string, string> => {
      const mount = container.volumeMounts!.find((m) => m.mountPath === mountPath)!;
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      if (volume.configMap)
        return find(objects, 'ConfigMap', volume.configMap.name!).data as Record<string, string>;
      const data = find(objects, 'Secret', volume.secret!.secretName!).data as Record<
        string,
        string
      >;
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    };
    const configPath = args('--config');
    const configDir = configPath.slice(0, configPath.lastIndexOf('/'));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, files(configDir)[configPath.slice(configDir.length + 1)]!);
    const caDir = join(dir, 'ca');
    mkdirSync(caDir);
    for (const [name, content] of Object.entries(files(args('--ca-dir'))))
      writeFileSync(join(caDir, name), content);
    // The container's arguments, with the mount paths moved to the temporary files and port 0.
    const argv = container.args!.map((a, i, all) => {
      if (all[i - 1] === '--config') return configFile;
      if (all[i - 1] === '--ca-dir') return caDir;
      if (all[i - 1] === '--port') return '0';
      return a;
    });
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'packages/fake-entra/src/cli.ts'), ...argv],
      {
        env: { ...process.env, FAKE_ENTRA_CA_DIR: join(dir, 'unused') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fake-entra did not start:\n${output}`)),
        20_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /listening on port (\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`fake-entra exited with ${code}:\n${output}`)));
    });
    fake = { port, process: child };
    // What api and client trust (NODE_EXTRA_CA_CERTS from their ConfigMap volume).
    const api = workload(objects, 'Deployment/api').template;
    const file = resolveEnv(objects, api.spec!.containers[0]!).env.NODE_EXTRA_CA_CERTS!;
    const mount = api.spec!.containers[0]!.volumeMounts!.find((m) =>
      file.startsWith(`${m.mountPath}/`),
    )!;
    const volume = api.spec!.volumes!.find((v) => v.name === mount.name)!;
    trustedCa = (
      find(objects, 'ConfigMap', volume.configMap!.name!).data as Record<string, string>
    )[file.slice(mount.mountPath.length + 1)]!;
  });

  afterAll(async () => {
    if (fake && fake.process.exitCode === null) {
      fake.process.kill('SIGKILL');
      await once(fake.process, 'exit');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('answers discovery on every in-cluster name with a certificate api and client trust', async () => {
    const api = loadApiConfig(containerEnv(objects, 'Deployment/api', 'fake-entra').env);
    const discovery = `${api.authority}/${api.tenantId}/v2.0/.well-known/openid-configuration`;
    for (const servername of args('--tls-hostnames').split(',')) {
      const answer = await get(discovery, { ca: trustedCa, servername, port: fake.port });
      expect({ servername, status: answer.status }).toEqual({ servername, status: 200 });
    }
    const metadata = JSON.parse(
      (
        await get(discovery, {
          ca: trustedCa,
          servername: new URL(api.authority).hostname,
          port: fake.port,
        })
      ).body,
    );
    // The issuer the API validates tokens against, keys on the in-cluster host, sign-in on the Ingress host.
    expect(metadata.issuer).toBe(`${api.authority}/${api.tenantId}/v2.0`);
    expect(metadata.jwks_uri).toMatch(new RegExp(`^${api.authority}/`));
    expect(metadata.token_endpoint).toMatch(new RegExp(`^${api.authority}/`));
    expect(new URL(metadata.authorization_endpoint).origin).toBe(args('--public-url'));
  });

  test('refuses a TLS client that does not trust the development CA', async () => {
    await expect(
      get(`${args('--issuer-url')}/healthz`, { servername: 'fake-entra', port: fake.port }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  test('serves the Ingress controller over plain HTTP on the same port (health and sign-in pages)', async () => {
    const health = await get(`http://${new URL(args('--public-url')).host}/healthz`, {
      port: fake.port,
    });
    expect(health.status).toBe(200);
  });

  test('needs nothing written to its read-only mounts', () => {
    expect(readdirSync(join(dir, 'ca')).sort()).toEqual(['ca-key.pem', 'ca.pem']);
  });

  test("stops on SIGTERM well within the pod's termination grace period", async () => {
    const grace = workload(objects, 'Deployment/fake-entra').template.spec!
      .terminationGracePeriodSeconds!;
    const started = Date.now();
    fake.process.kill('SIGTERM');
    const [code] = (await once(fake.process, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(grace * 1000);
  });
});
