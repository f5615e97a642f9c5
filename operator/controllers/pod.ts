// Pod-spec pieces every pod the operator creates shares: compute resources from spec.resources,
// the GPU taint toleration, and the restricted security context (non-root, read-only root
// filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp).
import type {
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Toleration,
} from '@kubernetes/client-node';
import type { Resources } from '../../api/index.ts';

export const GPU_RESOURCE = 'nvidia.com/gpu';
/** The uid and gid of k2k's images (distroless "nonroot"). */
export const NONROOT_ID = 65532;

/** Requests and limits: memory is requested and limited alike, CPU is limited only when asked. */
export function resourceRequirements(resources: Resources): V1ResourceRequirements {
  const gpus = resources.gpus ?? 0;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (resources.cpu !== undefined) requests.cpu = String(resources.cpu);
  if (resources.memory !== undefined) {
    requests.memory = String(resources.memory);
    limits.memory = String(resources.memory);
  }
  if (resources.cpuLimit !== undefined) limits.cpu = String(resources.cpuLimit);
  if (gpus > 0) {
    // Extended resources are not overcommitted: request and limit must be equal.
    requests[GPU_RESOURCE] = String(gpus);
    limits[GPU_RESOURCE] = String(gpus);
  }
  return {
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/** spec.tolerations, plus the nvidia.com/gpu taint when GPUs are requested. */
export function tolerationsFor(
  tolerations: readonly V1Toleration[] | undefined,
  gpus: number,
): V1Toleration[] {
  const all = [...(tolerations ?? [])];
  if (gpus > 0 && !all.some((t) => t.key === GPU_RESOURCE)) {
    // GPU nodes are commonly tainted nvidia.com/gpu:NoSchedule so that only GPU pods land there.
    all.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  }
  return all;
}

export function restrictedPodSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_ID,
    runAsGroup: NONROOT_ID,
    fsGroup: NONROOT_ID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}
