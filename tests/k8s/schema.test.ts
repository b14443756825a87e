// Every object each overlay renders is valid against the Kubernetes schema, unknown fields
// included (the API server rejects those with strict field validation; kubectl warns).
import { beforeAll, expect, test } from '@jest/globals';
import { describeWith } from '../support/prerequisites.ts';
import { find, kubectl, objectName, OVERLAYS, renderOverlay } from './support/render.ts';
import type { K8sObject } from './support/render.ts';
import { schemaError, unknownFields } from './support/schema.ts';

describeWith([kubectl], 'k8s manifests: Kubernetes schema', () => {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  test.each(OVERLAYS)('overlay %s renders the whole system', (overlay) => {
    const names = rendered.get(overlay)!.map(objectName);
    for (const expected of [
      'Namespace/koa-entra',
      'Deployment/api',
      'Deployment/client',
      'Deployment/redis',
      'Service/api',
      'Service/client',
      'Service/redis',
      'Ingress/client',
      'PodDisruptionBudget/api',
      'PodDisruptionBudget/client',
      'HorizontalPodAutoscaler/api',
      'HorizontalPodAutoscaler/client',
      'NetworkPolicy/default-deny-all',
      'ServiceAccount/api',
      'ServiceAccount/client',
      'ServiceAccount/redis',
    ]) {
      expect(names).toContain(expected);
    }
    if (overlay === 'fake-entra') {
      expect(names).toEqual(
        expect.arrayContaining([
          'Deployment/fake-entra',
          'Service/fake-entra',
          'StatefulSet/postgres',
          'Service/postgres',
        ]),
      );
    } else {
      // Against the real tenant nothing of the offline environment is deployed, and no secret is committed.
      expect(names.filter((n) => /fake-entra|postgres|^Secret\//.test(n))).toEqual([]);
    }
  });

  test.each(OVERLAYS)(
    'overlay %s: every object passes kubernetes-models validate()',
    async (overlay) => {
      const errors = [];
      for (const o of rendered.get(overlay)!) errors.push(await schemaError(o));
      expect(errors.filter(Boolean)).toEqual([]);
    },
  );

  test.each(OVERLAYS)('overlay %s: no object has a field the schema does not define', (overlay) => {
    expect(unknownFields(rendered.get(overlay)!)).toEqual([]);
  });

  test('validate() alone accepts a misspelled field, the strict check rejects it with its path', async () => {
    const broken = structuredClone(
      find(rendered.get('fake-entra')!, 'Deployment', 'api'),
    ) as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const container = broken.spec.template.spec.containers[0]!;
    container.readinessProbes = container.readinessProbe;
    delete container.readinessProbe;
    // kubernetes-models follows the OpenAPI schema, which allows additional properties...
    expect(await schemaError(broken)).toBeUndefined();
    // ...so the strict check is what catches it.
    expect(unknownFields([broken])).toEqual([
      expect.stringMatching(
        /^Deployment\/api: spec\.template\.spec\.containers\[0\]\.readinessProbes: .*'"?readinessProbes"?' does not exist in type 'IContainer'/,
      ),
    ]);
  });

  test('a value of the wrong type or a missing required field is rejected', async () => {
    const deployment = find(rendered.get('fake-entra')!, 'Deployment', 'client');
    const wrongType = structuredClone(deployment) as K8sObject & { spec: { replicas: unknown } };
    wrongType.spec.replicas = 'two';
    expect(await schemaError(wrongType)).toMatch(
      /Deployment\/client: .*spec\/replicas must be integer/,
    );
    expect(unknownFields([wrongType])).toEqual([
      expect.stringContaining('Deployment/client: spec.replicas:'),
    ]);

    const service = structuredClone(
      find(rendered.get('fake-entra')!, 'Service', 'api'),
    ) as K8sObject & {
      spec: { ports: Record<string, unknown>[] };
    };
    delete service.spec.ports[0]!.port;
    expect(await schemaError(service)).toMatch(
      /Service\/api: .*must have required property '?port'?/,
    );
  });
});
