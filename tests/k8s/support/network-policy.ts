// Which connections the rendered NetworkPolicies allow, by the rules of the NetworkPolicy API:
// a pod selected by any policy of a direction is isolated in that direction and then accepts
// only what some rule of those policies allows; a connection needs the sender's egress AND the
// receiver's ingress. Peers outside the namespace keep their own (unknown) policies: they are
// assumed to allow their side.
import type { K8sObject } from './render.ts';

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Port {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Port[];
}
export interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: Selector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: Rule[];
    egress?: Rule[];
  };
}

/** Something that sends or receives: a pod (namespace + labels + named ports) or an address outside the cluster. */
export interface Endpoint {
  name: string;
  namespace?: string;
  namespaceLabels?: Labels;
  labels?: Labels;
  /** For addresses outside the cluster (ipBlock peers). */
  ip?: string;
  namedPorts?: Record<string, number>;
}

export interface Flow {
  from: string;
  to: string;
  port: number;
  protocol: 'TCP' | 'UDP';
}

export function matches(selector: Selector, labels: Labels = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    if (e.operator === 'In' && !(has && e.values!.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && e.values!.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToNumber(base!) / size) * size;
  const n = ipToNumber(ip);
  return n >= start && n < start + size;
}

function peerMatches(peer: Peer, other: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    // Pods are matched by selectors; ipBlock is for addresses outside the cluster.
    if (other.ip === undefined) return false;
    return (
      inCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip!, c))
    );
  }
  if (other.namespace === undefined) return false;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, other.namespaceLabels)
    : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? matches(peer.podSelector, other.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(
  ports: Port[] | undefined,
  port: number,
  protocol: string,
  receiver: Endpoint,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : receiver.namedPorts?.[p.port];
    if (number === undefined) return false;
    return p.endPort !== undefined ? port >= number && port <= p.endPort : port === number;
  });
}

function types(policy: NetworkPolicy): ('Ingress' | 'Egress')[] {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

function allowedBy(
  policies: NetworkPolicy[],
  subject: Endpoint,
  direction: 'Ingress' | 'Egress',
  other: Endpoint,
  port: number,
  protocol: string,
): boolean {
  const namespace = policies[0]?.metadata.namespace;
  // Outside the namespace: not governed by these policies.
  if (subject.namespace === undefined || subject.namespace !== namespace) return true;
  const selecting = policies.filter(
    (p) => types(p).includes(direction) && matches(p.spec.podSelector, subject.labels),
  );
  if (selecting.length === 0) return true;
  const receiver = direction === 'Ingress' ? subject : other;
  return selecting.some((p) =>
    (direction === 'Ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      const peerOk =
        !peers ||
        peers.length === 0 ||
        peers.some((peer) => peerMatches(peer, other, p.metadata.namespace!));
      return peerOk && portMatches(rule.ports, port, protocol, receiver);
    }),
  );
}

/** Every (from, to, port) among the endpoints and candidate ports that the policies allow. */
export function allowedFlows(
  policies: NetworkPolicy[],
  endpoints: Endpoint[],
  ports: { port: number; protocol: 'TCP' | 'UDP' }[],
): Flow[] {
  const flows: Flow[] = [];
  for (const from of endpoints) {
    for (const to of endpoints) {
      if (from === to) continue;
      // Outside-to-outside traffic is not this system's business.
      if (
        from.namespace !== policies[0]?.metadata.namespace &&
        to.namespace !== policies[0]?.metadata.namespace
      )
        continue;
      for (const { port, protocol } of ports) {
        if (
          allowedBy(policies, from, 'Egress', to, port, protocol) &&
          allowedBy(policies, to, 'Ingress', from, port, protocol)
        ) {
          flows.push({ from: from.name, to: to.name, port, protocol });
        }
      }
    }
  }
  return flows;
}

export const flowString = (f: Flow) => `${f.from} -> ${f.to}:${f.port}/${f.protocol}`;
