// The Pod Security Standards "restricted" profile (which includes "baseline"), as the
// PodSecurity admission controller checks it (policy version "latest"; k8s.io/pod-security-admission),
// plus this project's own rules for every pod. Each returns violations as readable strings.
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { Workload } from './workloads.ts';
import { allContainers } from './workloads.ts';

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const SECCOMP_ALLOWED = new Set(['RuntimeDefault', 'Localhost']);
const APPARMOR_ALLOWED = new Set(['RuntimeDefault', 'Localhost']);

/** Violations of PSS "restricted" (baseline included) in one pod template. */
export function restrictedViolations(template: IPodTemplateSpec): string[] {
  const v: string[] = [];
  const spec = template.spec;
  if (!spec) return ['pod template has no spec'];
  const pod = spec.securityContext ?? {};
  // baseline
  if (spec.hostNetwork) v.push('hostNetwork is true');
  if (spec.hostPID) v.push('hostPID is true');
  if (spec.hostIPC) v.push('hostIPC is true');
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type))
      v.push(
        `volume ${volume.name} has type ${type} (allowed: ${[...RESTRICTED_VOLUME_TYPES].join(', ')})`,
      );
  }
  for (const s of pod.sysctls ?? [])
    if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name} is not in the safe set`);
  if (
    pod.seLinuxOptions &&
    (!SELINUX_TYPES.has(pod.seLinuxOptions.type ?? '') ||
      pod.seLinuxOptions.user ||
      pod.seLinuxOptions.role)
  )
    v.push('pod seLinuxOptions are not allowed');
  if (pod.appArmorProfile && !APPARMOR_ALLOWED.has(pod.appArmorProfile.type))
    v.push(`pod appArmorProfile ${pod.appArmorProfile.type}`);
  for (const [key, value] of Object.entries(template.metadata?.annotations ?? {})) {
    if (
      key.startsWith('container.apparmor.security.beta.kubernetes.io/') &&
      value !== 'runtime/default' &&
      !value.startsWith('localhost/')
    )
      v.push(`annotation ${key}: ${value}`);
  }
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && !SECCOMP_ALLOWED.has(podSeccomp))
    v.push(`pod seccompProfile ${podSeccomp}`);
  if (pod.runAsUser === 0) v.push('pod runAsUser is 0');

  for (const c of allContainers(template)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) v.push(`${where}: privileged`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${where}: hostPort ${p.hostPort}`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${where}: procMount ${sc.procMount}`);
    if (
      sc.seLinuxOptions &&
      (!SELINUX_TYPES.has(sc.seLinuxOptions.type ?? '') ||
        sc.seLinuxOptions.user ||
        sc.seLinuxOptions.role)
    )
      v.push(`${where}: seLinuxOptions are not allowed`);
    if (sc.appArmorProfile && !APPARMOR_ALLOWED.has(sc.appArmorProfile.type))
      v.push(`${where}: appArmorProfile ${sc.appArmorProfile.type}`);
    // restricted
    if (sc.allowPrivilegeEscalation !== false)
      v.push(`${where}: allowPrivilegeEscalation must be false`);
    const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (runAsNonRoot !== true) v.push(`${where}: runAsNonRoot must be true (pod or container)`);
    if (sc.runAsUser === 0) v.push(`${where}: runAsUser is 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp === undefined || !SECCOMP_ALLOWED.has(seccomp))
      v.push(`${where}: seccompProfile must be RuntimeDefault or Localhost (got ${seccomp})`);
    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) v.push(`${where}: capabilities must drop ALL`);
    for (const cap of caps.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') v.push(`${where}: adds capability ${cap}`);
  }
  return v;
}

/** This project's rules on top of "restricted" (issue 6). */
export function projectViolations(
  w: Workload,
  serviceAccounts: Map<string, { automountServiceAccountToken?: boolean }>,
): string[] {
  const v: string[] = [];
  const spec = w.template.spec!;
  const pod = spec.securityContext ?? {};
  const saName = spec.serviceAccountName ?? 'default';
  const sa = serviceAccounts.get(saName);
  if (!sa) v.push(`serviceAccountName ${saName} is not one of the rendered ServiceAccounts`);
  else if (sa.automountServiceAccountToken !== false)
    v.push(`ServiceAccount ${saName} automounts its token`);
  if (spec.automountServiceAccountToken !== false)
    v.push('pod automountServiceAccountToken must be false');
  for (const c of allContainers(w.template)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((sc.runAsUser ?? pod.runAsUser) !== 1000) v.push(`${where}: runAsUser must be 1000`);
    if (sc.readOnlyRootFilesystem !== true) v.push(`${where}: readOnlyRootFilesystem must be true`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[resource] === undefined)
          v.push(`${where}: resources.${kind}.${resource} is not set`);
      }
    }
    const mounts = new Set((c.volumeMounts ?? []).map((m) => m.mountPath));
    if (!mounts.has('/tmp'))
      v.push(`${where}: no writable /tmp (emptyDir) under a read-only root filesystem`);
  }
  return v;
}
