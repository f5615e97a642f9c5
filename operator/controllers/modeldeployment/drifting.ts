// The Drifting condition from the operator's last answer from Prometheus (operator/monitoring/drift.ts).
// True names the drifting features and since when; Unknown says why the operator cannot tell.
import { type Condition, DriftingReason, ModelDeploymentConditionType } from '../../../api/index.ts';
import type { DriftAnswer } from '../../monitoring/drift.ts';
import type { ConditionInput } from '../conditions.ts';

/** What the operator knows about drift in this pass: Prometheus's answer, or that it has no Prometheus. */
export type DriftObservation = DriftAnswer | { state: 'not-configured' };

const type = ModelDeploymentConditionType.Drifting;
const MAX_LISTED = 10;

/** `previous` is the Drifting condition as it stands; a True one keeps its start time in the message. */
export function driftingCondition(
  observed: DriftObservation,
  previous: Condition | undefined,
  now: string,
): ConditionInput {
  switch (observed.state) {
    case 'not-configured':
      return {
        type,
        status: 'Unknown',
        reason: DriftingReason.PrometheusNotConfigured,
        message:
          'the operator runs without --prometheus-url, so it cannot ask Prometheus; the model server still exports its drift metrics',
      };
    case 'unknown':
      return { type, status: 'Unknown', reason: DriftingReason[observed.reason], message: observed.message };
    case 'stable':
      return {
        type,
        status: 'False',
        reason: DriftingReason.NoDrift,
        message: `no input feature drifts (${observed.samples} rows in the window, at least ${observed.minSamples} needed)`,
      };
    case 'drifting': {
      const since = previous?.status === 'True' ? previous.lastTransitionTime : now;
      const listed = observed.features
        .slice(0, MAX_LISTED)
        .map((f) => `${f.feature} (PSI ${f.psi.toFixed(3)})`)
        .join(', ');
      const more =
        observed.features.length > MAX_LISTED ? ` and ${observed.features.length - MAX_LISTED} more` : '';
      return {
        type,
        status: 'True',
        reason: DriftingReason.FeatureDrift,
        message: `${observed.features.length} input feature(s) drift since ${since}: ${listed}${more} (PSI over its threshold, KS p-value under the Bonferroni-corrected level, enough samples: the K2KFeatureDrift rule)`,
      };
    }
  }
}
