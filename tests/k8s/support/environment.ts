// The environment a container starts with, resolved from the rendered objects the way the
// kubelet resolves it: envFrom first, then env in order, with $(VAR) references expanded.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { K8sObject } from './render.ts';

/** Values for Secrets an overlay references but does not contain ("name/key" -> sample value). */
export type ExternalSecrets = Record<string, string>;

export interface ResolvedEnv {
  env: Record<string, string>;
  /** "name/key" of every Secret entry the container reads. */
  secretsRead: string[];
}

function configMapData(objects: K8sObject[], name: string): Record<string, string> | undefined {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  return cm ? ((cm.data as Record<string, string> | undefined) ?? {}) : undefined;
}

function secretData(objects: K8sObject[], name: string): Record<string, string> | undefined {
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
  if (!secret) return undefined;
  const data = (secret.data as Record<string, string> | undefined) ?? {};
  const decoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  return { ...decoded, ...((secret.stringData as Record<string, string> | undefined) ?? {}) };
}

/** Kubernetes' dependent environment variables: $(VAR) expands to a defined VAR, $$ escapes. */
function expand(value: string, defined: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
    (whole, name: string | undefined) => {
      if (whole === '$$') return '$';
      return name !== undefined && name in defined ? defined[name]! : whole;
    },
  );
}

export function resolveEnv(
  objects: K8sObject[],
  container: IContainer,
  external: ExternalSecrets = {},
): ResolvedEnv {
  const env: Record<string, string> = {};
  const secretsRead: string[] = [];
  const secretValue = (
    name: string,
    key: string,
    optional: boolean | undefined,
  ): string | undefined => {
    secretsRead.push(`${name}/${key}`);
    const data = secretData(objects, name);
    if (data) {
      if (key in data) return data[key];
      if (optional) return undefined;
      throw new Error(`container ${container.name}: Secret ${name} has no key ${key}`);
    }
    if (`${name}/${key}` in external) return external[`${name}/${key}`];
    if (optional) return undefined;
    throw new Error(
      `container ${container.name}: Secret ${name} (key ${key}) is neither rendered nor a documented external secret`,
    );
  };
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef) {
      const data = configMapData(objects, source.configMapRef.name!);
      if (!data && !source.configMapRef.optional)
        throw new Error(
          `container ${container.name}: ConfigMap ${source.configMapRef.name} is not rendered`,
        );
      for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
    }
    if (source.secretRef) {
      const name = source.secretRef.name!;
      const data = secretData(objects, name);
      if (data) {
        for (const [k, v] of Object.entries(data)) {
          secretsRead.push(`${name}/${k}`);
          env[prefix + k] = v;
        }
      } else {
        const keys = Object.keys(external).filter((k) => k.startsWith(`${name}/`));
        if (keys.length === 0 && !source.secretRef.optional)
          throw new Error(`container ${container.name}: Secret ${name} is not available`);
        for (const k of keys) {
          secretsRead.push(k);
          env[prefix + k.slice(name.length + 1)] = external[k]!;
        }
      }
    }
  }
  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.value !== undefined) value = expand(e.value, env);
    else if (e.valueFrom?.secretKeyRef)
      value = secretValue(
        e.valueFrom.secretKeyRef.name!,
        e.valueFrom.secretKeyRef.key,
        e.valueFrom.secretKeyRef.optional,
      );
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      value = configMapData(objects, ref.name!)?.[ref.key];
      if (value === undefined && !ref.optional)
        throw new Error(`container ${container.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
    } else if (e.valueFrom) value = `<${Object.keys(e.valueFrom)[0]}>`;
    else value = '';
    if (value !== undefined) env[e.name] = value;
  }
  return { env, secretsRead };
}
