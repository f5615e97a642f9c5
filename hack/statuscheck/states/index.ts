// Every state a k2k resource can be in, by kind. files.ts writes them as argo-cd's health_test.yaml
// fixtures; main.go runs Argo CD's Lua VM and kstatus on them. A state missing here is a state
// nobody checks.
import { MODELDEPLOYMENT_KIND, SWEEP_KIND, TRAININGJOB_KIND } from '../../../api/index.ts';
import type { HealthCase } from './case.ts';
import { modelDeploymentCases } from './modeldeployment.ts';
import { sweepCases } from './sweep.ts';
import { trainingJobCases } from './trainingjob.ts';

export type { HealthCase } from './case.ts';

export function healthCases(): Map<string, HealthCase[]> {
  return new Map([
    [TRAININGJOB_KIND, trainingJobCases()],
    [SWEEP_KIND, sweepCases()],
    [MODELDEPLOYMENT_KIND, modelDeploymentCases()],
  ]);
}
