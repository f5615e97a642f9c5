// The TrainingJob of one retrain, built from spec.retraining.template: `<md>-retrain-<n>`, owned by
// the ModelDeployment, carrying on its annotations what the retraining state machine reads back
// (retrain.ts), so a restarted operator sees every retrain it started.
import { classifyModelURI } from '../../../api/artifact.ts';
import { API_VERSION, type ModelDeployment, TRAININGJOB_KIND, type TrainingJob } from '../../../api/index.ts';
import { MODEL_NAME_MAX_LENGTH, MODEL_NAME_PATTERN } from '../../../api/training.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { controllerReference, ownershipOf } from '../ownership.ts';
import { boundedName, MAX_TRIAL_NAME } from '../sweep/desired.ts';

/** The ModelDeployment whose retrain this is (a label, so `kubectl get trainingjobs -l` finds them). */
export const LABEL_RETRAIN_OF = 'k2k.dev/retrain-of';
export const ANNOTATION_RETRAIN_INDEX = 'k2k.dev/retrain-index';
/** Why it started: the Drifting condition then. */
export const ANNOTATION_RETRAIN_REASON = 'k2k.dev/retrain-reason';
/** What spec.model named when it started. */
export const ANNOTATION_RETRAIN_REPLACES = 'k2k.dev/retrain-replaces';

/** A TrainingJob names its Job and is a pod label value: 63 characters at most, however long the ModelDeployment's name. */
export const retrainName = (mdName: string, index: number) =>
  boundedName(mdName, `-retrain-${index}`, MAX_TRIAL_NAME);

export interface RetrainStart {
  index: number;
  name: string;
  reason: string;
  replaces: string;
}

export function desiredRetrain(md: ModelDeployment, start: RetrainStart): TrainingJob {
  const template = md.spec.retraining!.template;
  return {
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    metadata: {
      name: start.name,
      namespace: md.metadata.namespace!,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_RETRAIN_OF]: boundedName(md.metadata.name!, '', 63) },
      annotations: {
        [ANNOTATION_RETRAIN_INDEX]: String(start.index),
        [ANNOTATION_RETRAIN_REASON]: start.reason,
        [ANNOTATION_RETRAIN_REPLACES]: start.replaces,
      },
      ownerReferences: [controllerReference(md)],
    },
    // The storage of the template, else the ModelDeployment's: the same bucket usually holds both.
    // The artifact is a new version of the model it replaces (same <model> path segment), so the
    // canary and, once promoted, the stable pods serve it under the name clients already call.
    spec: {
      ...template,
      model: { ...template.model, ...(servedName(start.replaces) ?? {}) },
      ...(template.storage || !md.spec.storage ? {} : { storage: md.spec.storage }),
    } as TrainingJob['spec'],
  };
}

/** `{ name }` of the model a URI names (…/<model>/<version>/ or …/<model>/); none when it names none. */
function servedName(replaces: string): { name: string } | undefined {
  const { model } = classifyModelURI(replaces);
  return new RegExp(MODEL_NAME_PATTERN).test(model) && model.length <= MODEL_NAME_MAX_LENGTH
    ? { name: model }
    : undefined;
}

/** The retrains of `md` among `trainingJobs`: those it controls with a retrain index. */
export function ownedRetrains(
  md: ModelDeployment,
  trainingJobs: TrainingJob[],
): { index: number; trainingJob: TrainingJob }[] {
  return trainingJobs.flatMap((tj) => {
    const index = Number(tj.metadata.annotations?.[ANNOTATION_RETRAIN_INDEX]);
    return ownershipOf(tj, md.metadata.uid!) === 'ours' && Number.isInteger(index) && index > 0
      ? [{ index, trainingJob: tj }]
      : [];
  });
}
