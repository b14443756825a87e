// Renders the kustomize overlays the way `kubectl apply -k` would, offline.
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { Prerequisite } from '../../support/prerequisites.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const k8sDir = join(repoRoot, 'k8s');
export const OVERLAYS = ['fake-entra', 'entra'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export const kubectlPath = process.env.KUBECTL ?? 'kubectl';

export const kubectl: Prerequisite = {
  name: 'kubectl (with kustomize)',
  check: () => {
    try {
      execFileSync(kubectlPath, ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
      return undefined;
    } catch {
      return `\`${kubectlPath} version --client\` failed`;
    }
  },
  howTo: 'Install kubectl (it bundles kustomize) or set KUBECTL to its path.',
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const run = promisify(execFile);

/**
 * The objects `kubectl kustomize <dir>` renders, parsed. Throws with kustomize's message on an
 * error, and on a warning too (deprecated fields, e.g. commonLabels), so they get fixed.
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout, stderr } = await run(kubectlPath, ['kustomize', dir], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 60_000,
  });
  if (stderr.trim()) throw new Error(`kustomize warned about ${dir}: ${stderr.trim()}`);
  const docs = parseAllDocuments(stdout);
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0)
      throw new Error(`kustomize output of ${dir} is not YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

export function renderOverlay(overlay: Overlay): Promise<K8sObject[]> {
  return renderKustomization(join(k8sDir, 'overlays', overlay));
}

export function objectName(o: K8sObject): string {
  return `${o.kind}/${o.metadata.name}`;
}

export function find<T = K8sObject>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not in the rendered objects`);
  return found as unknown as T;
}
