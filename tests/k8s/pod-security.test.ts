// Every pod of every overlay runs within the Pod Security Standards "restricted" profile
// (the namespace enforces it) and this project's own rules: uid 1000, read-only root
// filesystem with an emptyDir /tmp, no service-account token, requests and limits.
import { beforeAll, expect, test } from '@jest/globals';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { describeWith } from '../support/prerequisites.ts';
import { projectViolations, restrictedViolations } from './support/pod-security.ts';
import { find, kubectl, OVERLAYS, renderOverlay } from './support/render.ts';
import type { K8sObject } from './support/render.ts';
import { workload, workloads } from './support/workloads.ts';

describeWith([kubectl], 'k8s manifests: pod security', () => {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  test.each(OVERLAYS)('overlay %s: the namespace enforces the restricted profile', (overlay) => {
    const ns = find(rendered.get(overlay)!, 'Namespace', 'koa-entra');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const namespaced = rendered.get(overlay)!.filter((o) => o.kind !== 'Namespace');
    expect(
      namespaced.filter((o) => o.metadata.namespace !== 'koa-entra').map((o) => o.metadata.name),
    ).toEqual([]);
  });

  test.each(OVERLAYS)(
    'overlay %s: every pod template passes "restricted" and the project rules',
    (overlay) => {
      const objects = rendered.get(overlay)!;
      const serviceAccounts = new Map(
        objects
          .filter((o) => o.kind === 'ServiceAccount')
          .map((o) => [o.metadata.name, o as { automountServiceAccountToken?: boolean }]),
      );
      const found = workloads(objects);
      expect(found.map((w) => w.owner).sort()).toEqual(
        overlay === 'fake-entra'
          ? [
              'Deployment/api',
              'Deployment/client',
              'Deployment/fake-entra',
              'Deployment/redis',
              'StatefulSet/postgres',
            ]
          : ['Deployment/api', 'Deployment/client', 'Deployment/redis'],
      );
      const violations = found.flatMap((w) =>
        [...restrictedViolations(w.template), ...projectViolations(w, serviceAccounts)].map(
          (v) => `${w.owner}: ${v}`,
        ),
      );
      expect(violations).toEqual([]);
    },
  );

  test('the checks catch a pod that breaks the profile', () => {
    const objects = rendered.get('fake-entra')!;
    const template = structuredClone(
      workload(objects, 'Deployment/api').template,
    ) as IPodTemplateSpec;
    const spec = template.spec!;
    spec.hostNetwork = true;
    spec.securityContext = { runAsUser: 0 };
    spec.volumes = [...(spec.volumes ?? []), { name: 'host', hostPath: { path: '/var/run' } }];
    const c = spec.containers[0]!;
    c.securityContext = {
      ...c.securityContext,
      allowPrivilegeEscalation: true,
      privileged: true,
      capabilities: { add: ['NET_ADMIN'] },
    };
    delete c.securityContext.runAsNonRoot;
    delete c.securityContext.seccompProfile;
    delete c.securityContext.runAsUser;
    expect(restrictedViolations(template)).toEqual([
      'hostNetwork is true',
      expect.stringMatching(/^volume host has type hostPath/),
      'pod runAsUser is 0',
      'container api: privileged',
      'container api: allowPrivilegeEscalation must be false',
      'container api: runAsNonRoot must be true (pod or container)',
      'container api: seccompProfile must be RuntimeDefault or Localhost (got undefined)',
      'container api: capabilities must drop ALL',
      'container api: adds capability NET_ADMIN',
    ]);
  });

  test.each(OVERLAYS)(
    'overlay %s: every ServiceAccount and pod opts out of the API token',
    (overlay) => {
      const accounts = rendered.get(overlay)!.filter((o) => o.kind === 'ServiceAccount');
      expect(accounts.length).toBeGreaterThanOrEqual(3);
      for (const sa of accounts)
        expect({ name: sa.metadata.name, automount: sa.automountServiceAccountToken }).toEqual({
          name: sa.metadata.name,
          automount: false,
        });
    },
  );
});
