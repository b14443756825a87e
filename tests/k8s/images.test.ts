// The images the manifests run are the ones this repository builds: same names as
// docker-compose.yml gives the Dockerfiles' builds, and users/ports that fit the pod specs.
import { beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeWith } from '../support/prerequisites.ts';
import { kubectl, OVERLAYS, renderOverlay, repoRoot } from './support/render.ts';
import type { K8sObject, Overlay } from './support/render.ts';
import { workload } from './support/workloads.ts';

interface ComposeService {
  image?: string;
  build?: { dockerfile?: string };
}

const DOCKERFILES = {
  api: 'Dockerfile.api',
  client: 'Dockerfile.client',
  'fake-entra': 'packages/fake-entra/Dockerfile',
} as const;

/** name:tag of the image compose builds from each Dockerfile. */
function composeImages(): Map<string, { name: string; tag: string }> {
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };
  const images = new Map<string, { name: string; tag: string }>();
  for (const service of Object.values(compose.services)) {
    if (!service.build?.dockerfile || !service.image) continue;
    const [name, tag = 'latest'] = service.image.split(/:(?=[^/]+$)/);
    images.set(service.build.dockerfile, { name: name!, tag });
  }
  return images;
}

/** Last stage of a Dockerfile: its USER and EXPOSEd ports. */
function runtimeStage(dockerfile: string): { user?: string; exposes: number[]; from: string } {
  const text = readFileSync(join(repoRoot, dockerfile), 'utf8');
  const stage = text.slice(text.lastIndexOf('\nFROM '));
  return {
    from: /^FROM\s+(\S+)/m.exec(stage)![1]!,
    user: /^USER\s+(\S+)/m.exec(stage)?.[1],
    exposes: [...stage.matchAll(/^EXPOSE\s+(\d+)/gm)].map((m) => Number(m[1])),
  };
}

describeWith([kubectl], 'k8s manifests: images', () => {
  const rendered = new Map<Overlay, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  test.each(OVERLAYS)(
    '%s: api, client (and the fake issuer) run the images the Dockerfiles build',
    (overlay) => {
      const objects = rendered.get(overlay)!;
      const built = composeImages();
      for (const [service, dockerfile] of Object.entries(DOCKERFILES)) {
        if (service === 'fake-entra' && overlay === 'entra') continue;
        const expected = built.get(dockerfile);
        expect({ dockerfile, builtByCompose: expected !== undefined }).toEqual({
          dockerfile,
          builtByCompose: true,
        });
        const container = workload(objects, `Deployment/${service}`).template.spec!.containers[0]!;
        const [name, tag] = container.image!.split(/:(?=[^/]+$)/);
        expect({ service, image: name }).toEqual({ service, image: expected!.name });
        // The offline overlay runs exactly what `docker compose build` produced (loaded into the cluster).
        if (overlay === 'fake-entra')
          expect({ service, tag }).toEqual({ service, tag: expected!.tag });
        else expect(tag).toBeTruthy();
      }
      // Nothing else of ours, under another name, and nothing unpinned.
      for (const w of objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))) {
        for (const c of workload(objects, `${w.kind}/${w.metadata.name}`).template.spec!
          .containers) {
          expect(c.image).toMatch(/:[\w.-]+$/);
          if (c.image!.includes('koa-entra'))
            expect([...built.values()].map((b) => b.name)).toContain(
              c.image!.split(/:(?=[^/]+$)/)[0],
            );
        }
      }
    },
  );

  test.each(Object.entries(DOCKERFILES))(
    '%s image (%s) runs as the uid and on the port the manifests expect',
    (service, dockerfile) => {
      const stage = runtimeStage(dockerfile);
      // The node user of the official node images is uid/gid 1000 (runAsUser: 1000 in every pod).
      expect(stage.from).toMatch(/^node:24-bookworm-slim/);
      expect(stage.user).toBe('node');
      const objects = rendered.get('fake-entra')!;
      const ports = workload(
        objects,
        `Deployment/${service}`,
      ).template.spec!.containers[0]!.ports!.map((p) => p.containerPort);
      expect(ports).toEqual(stage.exposes);
      expect(
        workload(objects, `Deployment/${service}`).template.spec!.securityContext!.runAsUser,
      ).toBe(1000);
    },
  );
});
