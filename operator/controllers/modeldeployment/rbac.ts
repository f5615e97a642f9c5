// What the ModelDeployment controller may do, verb by verb, and which code needs it. config/rbac
// is generated from this (operator/rbac.ts); keep it in step with controller.ts and reconcile.ts.
import {
  GROUP,
  MODELDEPLOYMENT_PLURAL,
  MONITORING_API_VERSION,
  PROMETHEUSRULE_PLURAL,
  SERVICEMONITOR_PLURAL,
  SWEEP_PLURAL,
  TRAININGJOB_PLURAL,
} from '../../../api/index.ts';
import {
  appliesServerSide,
  appliesStatus,
  blocksOwnerDeletion,
  getsWhenNameIsTaken,
  type Permission,
  readsThroughInformers,
} from '../../runtime/index.ts';

const WHO = 'The ModelDeployment controller';
const MONITORING_GROUP = MONITORING_API_VERSION.split('/')[0]!;
// No informer (list, watch) for these: their CRDs may be missing; each pass reads them (get).
const MONITORING = [SERVICEMONITOR_PLURAL, PROMETHEUSRULE_PLURAL];

export const MODELDEPLOYMENT_PERMISSIONS: Permission[] = [
  readsThroughInformers(GROUP, [MODELDEPLOYMENT_PLURAL, TRAININGJOB_PLURAL, SWEEP_PLURAL], WHO),
  appliesStatus(GROUP, [MODELDEPLOYMENT_PLURAL], WHO),
  blocksOwnerDeletion(GROUP, [MODELDEPLOYMENT_PLURAL], WHO),
  readsThroughInformers('apps', ['deployments'], WHO),
  readsThroughInformers('', ['services', 'serviceaccounts', 'pods', 'configmaps'], WHO),
  readsThroughInformers('autoscaling', ['horizontalpodautoscalers'], WHO),
  getsWhenNameIsTaken('apps', ['deployments'], WHO),
  getsWhenNameIsTaken('', ['services', 'serviceaccounts', 'configmaps'], WHO),
  getsWhenNameIsTaken('autoscaling', ['horizontalpodautoscalers'], WHO),
  appliesServerSide('apps', ['deployments'], WHO),
  appliesServerSide('', ['services', 'serviceaccounts', 'configmaps'], WHO),
  appliesServerSide('autoscaling', ['horizontalpodautoscalers'], WHO),
  // Retraining on drift: the retrain TrainingJobs (read through the informer above; a get only
  // when a create finds the name taken, as for every child).
  getsWhenNameIsTaken(GROUP, [TRAININGJOB_PLURAL], WHO),
  appliesServerSide(GROUP, [TRAININGJOB_PLURAL], WHO),
  {
    group: MONITORING_GROUP,
    resources: MONITORING,
    verbs: ['get'],
    // No informer caches these kinds (they may not exist when the operator starts).
    why: `${WHO} reads them every pass, to apply only what changed and leave alone those it did not create (get)`,
  },
  appliesServerSide(MONITORING_GROUP, MONITORING, WHO),
];
