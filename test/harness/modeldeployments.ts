// Reading ModelDeployments in integration tests: wait for a condition to have a reason.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Condition, ModelDeployment } from '../../api/index.ts';
import { eventually } from './eventually.ts';

const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };

/** Waits until the ModelDeployment's `type` condition has this reason; returns it and the ModelDeployment. */
export function eventuallyModelDeploymentCondition(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
  type: string,
  reason: string,
  timeoutMs = 60_000,
): Promise<{ md: ModelDeployment; condition: Condition }> {
  return eventually(
    async () => {
      const md = (await custom.getNamespacedCustomObject({ ...mds, namespace, name })) as ModelDeployment;
      const condition = md.status?.conditions?.find((c) => c.type === type);
      return condition?.reason === reason ? { md, condition } : undefined;
    },
    { timeoutMs, what: `ModelDeployment ${namespace}/${name} ${type} reason ${reason}` },
  );
}
