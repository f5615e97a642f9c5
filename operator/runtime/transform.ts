// What an informer keeps of each object. managedFields is often the largest part of an object
// (one entry per field manager, each listing every field it set) and no reconcile reads it;
// kubectl's last-applied-configuration annotation repeats the whole object once more. Dropping
// both on insert roughly halves a cached Job.
import type { KubernetesObject } from '@kubernetes/client-node';

export type Transform = <T extends KubernetesObject>(obj: T) => T;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The object without metadata.managedFields and kubectl's last-applied annotation. */
export const dropUnreadFields: Transform = (obj) => {
  const metadata = obj.metadata;
  if (!metadata || (!metadata.managedFields && !metadata.annotations?.[LAST_APPLIED])) return obj;
  const { managedFields: _dropped, ...kept } = metadata;
  if (kept.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _last, ...annotations } = kept.annotations;
    kept.annotations = annotations;
  }
  return { ...obj, metadata: kept };
};
