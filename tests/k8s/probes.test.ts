// Probes ask the services on paths their routers really serve and ports they really listen
// on; Services and the Ingress reach those ports; rollouts and disruptions keep capacity.
import { beforeAll, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '@koa-entra/fake-entra';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { loadConfig as loadApiConfig } from '@koa-entra/api';
import { loadConfig as loadClientConfig } from '@koa-entra/client';
import { describeWith } from '../support/prerequisites.ts';
import { containerEnv, fillPlaceholders } from './support/entra-samples.ts';
import { find, kubectl, OVERLAYS, renderOverlay, repoRoot } from './support/render.ts';
import type { K8sObject, Overlay } from './support/render.ts';
import { workload } from './support/workloads.ts';

/** GET routes registered by the Koa routers under source directories (router.get('/path', ...)). */
function getRoutes(dirs: readonly string[]): Set<string> {
  const routes = new Set<string>();
  const entries = dirs.flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true }),
  );
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const source = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    // A prefixed router would move every path; none of the services uses one.
    expect(source).not.toMatch(/new Router\(\s*\{[^}]*prefix/);
    for (const m of source.matchAll(/\brouter\.(?:get|all)\(\s*['"`]([^'"`]+)['"`]/g))
      routes.add(m[1]!);
  }
  return routes;
}

const SERVICES = {
  api: {
    // The probe routes themselves are the service kit's (healthRoutes).
    routes: ['services/api/src/routes', 'packages/service-kit/src'],
    port: (env: Record<string, string>) => loadApiConfig(env).port,
    metricsPort: (env: Record<string, string>) => loadApiConfig(env).metricsPort,
  },
  client: {
    routes: ['services/client/src/routes', 'packages/service-kit/src'],
    port: (env: Record<string, string>) => loadClientConfig(env).port,
    metricsPort: (env: Record<string, string>) => loadClientConfig(env).metricsPort,
  },
  'fake-entra': {
    routes: ['packages/fake-entra/src/routes'],
    port: undefined,
    metricsPort: undefined,
  },
} as const;

function probePort(container: IContainer, probe: IProbe): number {
  const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p) => p.name === port);
  if (!named)
    throw new Error(
      `container ${container.name}: probe port ${port} is not a named container port`,
    );
  return named.containerPort;
}

describeWith([kubectl], 'k8s manifests: probes, ports and rollouts', () => {
  const rendered = new Map<Overlay, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  const cases = OVERLAYS.flatMap((overlay) =>
    (['api', 'client', 'fake-entra'] as const)
      .filter((s) => overlay === 'fake-entra' || s !== 'fake-entra')
      .map((s) => [overlay, s] as const),
  );

  test.each(cases)(
    '%s: %s probes its real health endpoints on its real port',
    (overlay, service) => {
      const objects = rendered.get(overlay)!;
      const container = workload(objects, `Deployment/${service}`).template.spec!.containers[0]!;
      const served = getRoutes(SERVICES[service].routes);
      expect([...served]).toEqual(expect.arrayContaining(['/healthz']));
      const listens =
        SERVICES[service].port?.(
          fillPlaceholders(containerEnv(objects, `Deployment/${service}`, overlay).env),
        ) ?? Number(container.args![container.args!.indexOf('--port') + 1]);
      const probes = {
        startup: container.startupProbe,
        readiness: container.readinessProbe,
        liveness: container.livenessProbe,
      };
      for (const [kind, probe] of Object.entries(probes)) {
        expect({ kind, defined: probe !== undefined }).toEqual({ kind, defined: true });
        expect({
          kind,
          path: probe!.httpGet?.path,
          servedByRouter: served.has(probe!.httpGet?.path ?? ''),
        }).toEqual({
          kind,
          path: probe!.httpGet?.path,
          servedByRouter: true,
        });
        expect({ kind, port: probePort(container, probe!) }).toEqual({ kind, port: listens });
      }
      // Liveness never depends on the issuer or a store (an outage must not restart pods); readiness does.
      expect(container.livenessProbe!.httpGet!.path).toBe('/healthz');
      expect(container.startupProbe!.httpGet!.path).toBe('/healthz');
      if (service !== 'fake-entra') expect(container.readinessProbe!.httpGet!.path).toBe('/readyz');
      const env = () =>
        fillPlaceholders(containerEnv(objects, `Deployment/${service}`, overlay).env);
      const metricsPort = SERVICES[service].metricsPort?.(env());
      const ports = (container.ports ?? []).map((p) => [p.name, p.containerPort]);
      if (metricsPort === undefined) expect(ports.map(([, port]) => port)).toEqual([listens]);
      else {
        // Metrics on the port the service serves them on, which is the one the scraper is told.
        expect(ports).toEqual([
          ['http', listens],
          ['metrics', metricsPort],
        ]);
        expect(
          workload(objects, `Deployment/${service}`).template.metadata!.annotations,
        ).toMatchObject({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(metricsPort),
          'prometheus.io/path': '/metrics',
        });
      }
      // A cold API instance fetches the issuer's keys inside /readyz: the probe must outwait that fetch.
      if (service === 'api') {
        const api = loadApiConfig(
          fillPlaceholders(containerEnv(objects, 'Deployment/api', overlay).env),
        );
        expect(container.readinessProbe!.timeoutSeconds! * 1000).toBeGreaterThan(
          api.jwksFetchTimeoutMs,
        );
      }
    },
  );

  test.each(OVERLAYS)(
    '%s: every Service targets a port its pods listen on, the Ingress a port of its Service',
    (overlay) => {
      const objects = rendered.get(overlay)!;
      const pods = objects
        .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
        .map((o) => workload(objects, `${o.kind}/${o.metadata.name}`));
      for (const svc of objects.filter((o) => o.kind === 'Service') as (K8sObject & {
        spec: {
          selector: Record<string, string>;
          ports: { port: number; targetPort?: number | string }[];
        };
      })[]) {
        const selected = pods.filter((p) =>
          Object.entries(svc.spec.selector).every(
            ([k, v]) => p.template.metadata?.labels?.[k] === v,
          ),
        );
        expect({ service: svc.metadata.name, selects: selected.length }).toEqual({
          service: svc.metadata.name,
          selects: 1,
        });
        const ports = selected[0]!.template.spec!.containers.flatMap((c) => c.ports ?? []);
        for (const p of svc.spec.ports) {
          const target = p.targetPort ?? p.port;
          const match = ports.find((cp) => cp.containerPort === target || cp.name === target);
          expect({ service: svc.metadata.name, target, listens: match !== undefined }).toEqual({
            service: svc.metadata.name,
            target,
            listens: true,
          });
        }
      }
      const ingress = find<{
        spec: {
          rules: {
            http: {
              paths: {
                backend: { service: { name: string; port: { name?: string; number?: number } } };
              }[];
            };
          }[];
        };
      }>(objects, 'Ingress', 'client');
      for (const backend of ingress.spec.rules.flatMap((r) =>
        r.http.paths.map((p) => p.backend.service),
      )) {
        const svc = find<{ spec: { ports: { name?: string; port: number }[] } }>(
          objects,
          'Service',
          backend.name,
        );
        expect(
          svc.spec.ports.some(
            (p) => p.name === backend.port.name || p.port === backend.port.number,
          ),
        ).toBe(true);
      }
    },
  );

  test.each(OVERLAYS)('%s: rollouts and node drains keep serving', (overlay) => {
    const objects = rendered.get(overlay)!;
    for (const [name, shutdownMs] of [
      [
        'api',
        loadApiConfig({
          API_CLIENT_ID: DEFAULTS.apiClientId,
          TENANT_ID: DEFAULTS.tenantId,
        }).shutdownTimeoutMs,
      ],
      [
        'client',
        loadClientConfig({
          TENANT_ID: 't',
          CLIENT_ID: DEFAULTS.webClientId,
          CLIENT_SECRET: 's',
          API_SCOPES: DEFAULTS.apiScopes.join(' '),
          SESSION_KEYS: 'k'.repeat(32),
        }).shutdownTimeoutMs,
      ],
    ] as const) {
      const deployment = find<{
        spec: {
          replicas: number;
          strategy: { type: string; rollingUpdate: { maxUnavailable: number } };
          selector: { matchLabels: Record<string, string> };
        };
      }>(objects, 'Deployment', name);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy).toMatchObject({
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0 },
      });
      const pod = workload(objects, `Deployment/${name}`).template.spec!;
      const preStop = pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(preStop).toBeGreaterThanOrEqual(3);
      // Endpoints drain during preStop, then SIGTERM; the kubelet kills at the grace period.
      expect(pod.terminationGracePeriodSeconds!).toBeGreaterThan(preStop + shutdownMs / 1000 + 2);
      const pdb = find<{
        spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      }>(objects, 'PodDisruptionBudget', name);
      expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
      const hpa = find<{
        spec: {
          scaleTargetRef: { kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
        };
      }>(objects, 'HorizontalPodAutoscaler', name);
      expect(hpa.spec).toMatchObject({
        scaleTargetRef: { kind: 'Deployment', name },
        minReplicas: 2,
      });
      expect(hpa.spec.maxReplicas).toBeGreaterThan(2);
    }
  });
});
