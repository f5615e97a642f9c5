// What the TrainingJob controller may do, verb by verb, and which code needs it. config/rbac is
// generated from this (operator/rbac.ts); keep it in step with controller.ts and reconcile.ts.
import { GROUP, TRAININGJOB_PLURAL } from '../../../api/index.ts';
import {
  appliesServerSide,
  appliesStatus,
  blocksOwnerDeletion,
  getsWhenNameIsTaken,
  type Permission,
  readsThroughInformers,
} from '../../runtime/index.ts';

const WHO = 'The TrainingJob controller';

export const TRAININGJOB_PERMISSIONS: Permission[] = [
  readsThroughInformers(GROUP, [TRAININGJOB_PLURAL], WHO),
  appliesStatus(GROUP, [TRAININGJOB_PLURAL], WHO),
  blocksOwnerDeletion(GROUP, [TRAININGJOB_PLURAL], WHO),
  {
    group: GROUP,
    resources: [TRAININGJOB_PLURAL],
    verbs: ['get'],
    why: `${WHO} reads a TrainingJob whose Job is gone from the API server, not the cache, before it runs the trainer again (readTrainingJob in trainingjob/reconcile.ts)`,
  },
  readsThroughInformers('batch', ['jobs'], WHO),
  readsThroughInformers('', ['serviceaccounts'], WHO),
  readsThroughInformers('rbac.authorization.k8s.io', ['roles', 'rolebindings'], WHO),
  readsThroughInformers('', ['pods'], WHO),
  getsWhenNameIsTaken('batch', ['jobs'], WHO),
  getsWhenNameIsTaken('', ['serviceaccounts'], WHO),
  getsWhenNameIsTaken('rbac.authorization.k8s.io', ['roles', 'rolebindings'], WHO),
  appliesServerSide('batch', ['jobs'], WHO),
  appliesServerSide('', ['serviceaccounts'], WHO),
  appliesServerSide('rbac.authorization.k8s.io', ['roles', 'rolebindings'], WHO),
  {
    group: GROUP,
    resources: [`${TRAININGJOB_PLURAL}/status`],
    verbs: ['get', 'patch'],
    why: "The trainer's per-job Role (desiredRole in trainingjob/desired.ts) grants these, and RBAC lets the operator create a Role only with permissions it holds itself",
  },
];
