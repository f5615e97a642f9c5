// What the HyperparameterSweep controller may do, verb by verb, and which code needs it.
// config/rbac is generated from this (operator/rbac.ts); keep it in step with controller.ts and
// reconcile.ts.
import { GROUP, SWEEP_PLURAL, TRAININGJOB_PLURAL } from '../../../api/index.ts';
import {
  appliesServerSide,
  appliesStatus,
  blocksOwnerDeletion,
  getsWhenNameIsTaken,
  type Permission,
  readsThroughInformers,
} from '../../runtime/index.ts';

const WHO = 'The HyperparameterSweep controller';

export const SWEEP_PERMISSIONS: Permission[] = [
  readsThroughInformers(GROUP, [SWEEP_PLURAL, TRAININGJOB_PLURAL], WHO),
  appliesStatus(GROUP, [SWEEP_PLURAL], WHO),
  blocksOwnerDeletion(GROUP, [SWEEP_PLURAL], WHO),
  getsWhenNameIsTaken(GROUP, [TRAININGJOB_PLURAL], WHO),
  appliesServerSide(GROUP, [TRAININGJOB_PLURAL], WHO),
];
