// What the operator's configuration lets a spec ask for. spec.image and spec.serviceAccountName
// run any image as any ServiceAccount of the namespace: on a shared cluster the platform team
// restricts both with --allowed-images and --allowed-service-accounts. Both are off by default
// (the local demo), and the operator's own default images and the accounts it creates are always
// allowed: the policy is about what a spec's author chooses.
import { RefusalReason } from '../../api/index.ts';
import type { Refusal } from './conditions.ts';

export interface PodPolicy {
  /**
   * What spec.image may be. An entry ending in `/` allows every image under it (a registry or a
   * repository path: `registry.example.com/ml/`); any other entry allows one repository at any tag
   * or digest (`registry.example.com/ml/trainer`), or one exact reference. Images are compared as
   * written: `busybox` does not match `docker.io/library/`. Empty: any image.
   */
  allowedImages: readonly string[];
  /** What spec.serviceAccountName may be. Empty: any ServiceAccount of the namespace. */
  allowedServiceAccounts: readonly string[];
}

export const ALLOW_ALL: PodPolicy = { allowedImages: [], allowedServiceAccounts: [] };

/** Whether `image` matches one of `allowed` (see PodPolicy.allowedImages); true when none are listed. */
export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((entry) =>
    entry.endsWith('/')
      ? image.startsWith(entry) && image.length > entry.length
      : image === entry || image.startsWith(`${entry}:`) || image.startsWith(`${entry}@`),
  );
}

/** The refusal of a spec that asks for an image or ServiceAccount the policy does not allow. */
export function checkPodPolicy(
  spec: { image?: string; serviceAccountName?: string },
  policy: PodPolicy,
  kind: string,
): Refusal | undefined {
  if (spec.image !== undefined && !imageAllowed(spec.image, policy.allowedImages)) {
    return {
      reason: RefusalReason.ImageNotAllowed,
      message: `spec.image ${spec.image} is not allowed by the operator's configuration (allowed: ${policy.allowedImages.join(', ')}); this ${kind} is not run until spec.image is changed`,
    };
  }
  const account = spec.serviceAccountName;
  if (
    account !== undefined &&
    policy.allowedServiceAccounts.length > 0 &&
    !policy.allowedServiceAccounts.includes(account)
  ) {
    return {
      reason: RefusalReason.ServiceAccountNotAllowed,
      message: `spec.serviceAccountName ${account} is not allowed by the operator's configuration (allowed: ${policy.allowedServiceAccounts.join(', ')}); leave it unset to run as the ServiceAccount k2k creates for this ${kind}`,
    };
  }
  return undefined;
}
