// The NetworkPolicies allow exactly the flows the system uses, and nothing else: every other
// pair of (sender, receiver, port) among the system's pods, the Ingress controller, cluster DNS,
// strangers inside and outside the namespace, and addresses outside the cluster is denied.
import { beforeAll, expect, test } from '@jest/globals';
import { describeWith } from '../support/prerequisites.ts';
import { allowedFlows, flowString } from './support/network-policy.ts';
import type { Endpoint, NetworkPolicy } from './support/network-policy.ts';
import { find, kubectl, OVERLAYS, renderOverlay } from './support/render.ts';
import type { K8sObject, Overlay } from './support/render.ts';
import { workloads } from './support/workloads.ts';

const PORTS = [
  ...[22, 53, 80, 443, 2379, 5001, 5050, 5432, 6379, 8000, 9090, 9464, 9465, 10250].map((port) => ({
    port,
    protocol: 'TCP' as const,
  })),
  { port: 53, protocol: 'UDP' as const },
];

/** Everything around the namespace that could send to or receive from its pods. */
const OUTSIDE: Endpoint[] = [
  {
    name: 'ingress-controller',
    namespace: 'ingress-nginx',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    labels: {
      'app.kubernetes.io/name': 'ingress-nginx',
      'app.kubernetes.io/component': 'controller',
    },
  },
  {
    name: 'other-pod-in-ingress-namespace',
    namespace: 'ingress-nginx',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    labels: { 'app.kubernetes.io/name': 'ingress-nginx-admission' },
  },
  {
    name: 'kube-dns',
    namespace: 'kube-system',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
    labels: { 'k8s-app': 'kube-dns' },
  },
  {
    name: 'client-lookalike-in-other-namespace',
    namespace: 'other',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'other' },
    labels: { 'app.kubernetes.io/name': 'client' },
  },
  {
    name: 'prometheus',
    namespace: 'monitoring',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    labels: { 'app.kubernetes.io/name': 'prometheus' },
  },
  {
    name: 'other-pod-in-monitoring',
    namespace: 'monitoring',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    labels: { 'app.kubernetes.io/name': 'grafana' },
  },
  { name: 'internet', ip: '20.190.151.68' },
  { name: 'private-network', ip: '10.20.30.40' },
  { name: 'cloud-metadata', ip: '169.254.169.254' },
];

const COMMON = [
  'ingress-controller -> client:5001/TCP',
  'client -> api:8000/TCP',
  'client -> redis:6379/TCP',
  // Metrics: only Prometheus, only on the metrics ports (the Ingress cannot reach them).
  'prometheus -> api:9464/TCP',
  'prometheus -> client:9465/TCP',
  'api -> kube-dns:53/TCP',
  'api -> kube-dns:53/UDP',
  'client -> kube-dns:53/TCP',
  'client -> kube-dns:53/UDP',
];
const EXPECTED: Record<Overlay, string[]> = {
  'fake-entra': [
    ...COMMON,
    'api -> fake-entra:5050/TCP',
    'client -> fake-entra:5050/TCP',
    'ingress-controller -> fake-entra:5050/TCP',
    'api -> postgres:5432/TCP',
  ],
  entra: [
    ...COMMON,
    'api -> internet:443/TCP',
    'client -> internet:443/TCP',
    // The external database: any non-link-local address until narrowed (k8s/README.md).
    'api -> internet:5432/TCP',
    'api -> private-network:5432/TCP',
  ],
};

function endpoints(objects: K8sObject[]): Endpoint[] {
  const ns = find(objects, 'Namespace', 'koa-entra');
  const namespaceLabels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': 'koa-entra' };
  const pods: Endpoint[] = workloads(objects).map((w) => ({
    name: w.template.metadata!.labels!['app.kubernetes.io/name']!,
    namespace: 'koa-entra',
    namespaceLabels,
    labels: w.template.metadata!.labels,
    namedPorts: Object.fromEntries(
      w.template
        .spec!.containers.flatMap((c) => c.ports ?? [])
        .filter((p) => p.name)
        .map((p) => [p.name!, p.containerPort]),
    ),
  }));
  // A pod someone adds to the namespace later (a debug shell, a job) gets nothing by default.
  pods.push({
    name: 'stranger-in-namespace',
    namespace: 'koa-entra',
    namespaceLabels,
    labels: { 'app.kubernetes.io/name': 'debug' },
  });
  return [...pods, ...OUTSIDE];
}

describeWith([kubectl], 'k8s manifests: network policies', () => {
  const rendered = new Map<Overlay, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  test.each(OVERLAYS)('%s: exactly the flows the system uses are allowed', (overlay) => {
    const objects = rendered.get(overlay)!;
    const policies = objects.filter((o): o is NetworkPolicy => o.kind === 'NetworkPolicy');
    const flows = allowedFlows(policies, endpoints(objects), PORTS).map(flowString);
    expect(flows.sort()).toEqual([...EXPECTED[overlay]].sort());
  });

  test.each(OVERLAYS)(
    '%s: everything in the namespace is denied by default, both ways',
    (overlay) => {
      const deny = find<NetworkPolicy>(rendered.get(overlay)!, 'NetworkPolicy', 'default-deny-all');
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    },
  );

  test('the evaluator sees a flow appear when a policy opens one', () => {
    const objects = structuredClone(rendered.get('fake-entra')!);
    const redis = objects.find(
      (o): o is NetworkPolicy => o.kind === 'NetworkPolicy' && o.metadata.name === 'redis',
    )!;
    // Opening Redis' ingress to every pod is not enough: the sender also needs egress...
    redis.spec.ingress = [{ ports: [{ protocol: 'TCP', port: 6379 }] }];
    const policies = objects.filter((o): o is NetworkPolicy => o.kind === 'NetworkPolicy');
    const before = allowedFlows(policies, endpoints(objects), PORTS).map(flowString);
    expect(before).not.toContain('api -> redis:6379/TCP');
    // ...which a broad egress rule gives.
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-all-egress', namespace: 'koa-entra' },
      spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
    });
    const after = allowedFlows(policies, endpoints(objects), PORTS).map(flowString);
    expect(after).toEqual(
      expect.arrayContaining([
        'api -> redis:6379/TCP',
        'stranger-in-namespace -> redis:6379/TCP',
        'redis -> internet:443/TCP',
      ]),
    );
  });
});
