// Pod templates of the rendered workloads, whatever kind carries them.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { K8sObject } from './render.ts';
import { objectName } from './render.ts';

export interface Workload {
  /** e.g. "Deployment/api" */
  owner: string;
  object: K8sObject;
  template: IPodTemplateSpec;
}

type Spec = {
  template?: IPodTemplateSpec;
  jobTemplate?: { spec?: { template?: IPodTemplateSpec } };
};

export function workloads(objects: K8sObject[]): Workload[] {
  const result: Workload[] = [];
  for (const o of objects) {
    const spec = o.spec as Spec | undefined;
    let template: IPodTemplateSpec | undefined;
    if (o.kind === 'Pod')
      template = { metadata: o.metadata, spec: o.spec as IPodTemplateSpec['spec'] };
    else if (o.kind === 'CronJob') template = spec?.jobTemplate?.spec?.template;
    else if (
      [
        'Deployment',
        'StatefulSet',
        'DaemonSet',
        'ReplicaSet',
        'Job',
        'ReplicationController',
      ].includes(o.kind)
    )
      template = spec?.template;
    if (template) result.push({ owner: objectName(o), object: o, template });
  }
  return result;
}

export function workload(objects: K8sObject[], owner: string): Workload {
  const found = workloads(objects).find((w) => w.owner === owner);
  if (!found) throw new Error(`no workload ${owner}`);
  return found;
}

/** Every container of a pod template: init, regular and ephemeral. */
export function allContainers(template: IPodTemplateSpec): IContainer[] {
  const spec = template.spec;
  if (!spec) return [];
  return [
    ...(spec.initContainers ?? []),
    ...spec.containers,
    ...((spec.ephemeralContainers ?? []) as IContainer[]),
  ];
}
