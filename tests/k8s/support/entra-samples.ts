// What an operator supplies to the entra overlay, as samples of the documented shape: the
// Secrets it references but never contains, and the values of its REPLACE_ME placeholders.
import type { ExternalSecrets } from './environment.ts';
import { resolveEnv } from './environment.ts';
import type { K8sObject, Overlay } from './render.ts';
import { workload } from './workloads.ts';

export const ENTRA_SECRETS: ExternalSecrets = {
  'client-entra/client-secret': 'sample~client~secret~from~the~app~registration',
  'client-session/session-keys': 'a'.repeat(64),
  'redis-auth/password': '0123456789abcdef'.repeat(4),
  'api-database/url': 'postgres://koa_entra:secret@db.example.com:5432/koa_entra?sslmode=require',
};

export const ENTRA_SAMPLE_SETTINGS: Record<string, string> = {
  'REPLACE_ME-tenant-guid': '72f988bf-86f1-41af-91ab-2d7cd011db47',
  'REPLACE_ME-api-application-guid': '6e1f4a7b-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
  'REPLACE_ME-web-app-application-guid': '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
};

/** Replaces the placeholders with the sample settings. */
export function fillPlaceholders(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      Object.entries(ENTRA_SAMPLE_SETTINGS).reduce(
        (acc, [from, to]) => acc.split(from).join(to),
        v,
      ),
    ]),
  );
}

/** The environment of the first container of a workload ("Deployment/api"), as the kubelet builds it. */
export function containerEnv(objects: K8sObject[], owner: string, overlay: Overlay) {
  const container = workload(objects, owner).template.spec!.containers[0]!;
  return resolveEnv(objects, container, overlay === 'entra' ? ENTRA_SECRETS : {});
}
