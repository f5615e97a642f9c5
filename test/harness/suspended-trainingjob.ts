// The TrainingJob of the fault tests and the operator benchmark: suspended, so its Job starts no
// pods and what is measured is the operator, not the scheduler or a trainer.
import { API_VERSION, TRAININGJOB_KIND, type TrainingJob } from '../../api/index.ts';

export const suspendedTrainingJob = (name: string, namespace?: string): TrainingJob =>
  ({
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    metadata: { name, namespace },
    spec: {
      suspend: true,
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
      output: { uri: 's3://models/' },
      storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
    },
  }) as TrainingJob;
