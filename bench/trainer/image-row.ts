// The "image" row of bench/trainer/run.ts, in its own process started with the trainer image's
// environment and node flags (image.ts): the backend is picked as the trainer picks it
// (trainer/backend.ts, K2K_BACKEND's default "auto"), then each model is trained with the same
// protocol as the other rows. Prints one JSON object on stdout.
//
// Usage (run.ts does this): node <image flags> --import tsx bench/trainer/image-row.ts '<json>'
//   where <json> is {"models": ["mlp", "cnn"], "opts": MeasureOptions}
import { selectBackend } from '../../trainer/backend.ts';
import { silentLogger } from '../../trainer/log.ts';
import type { MeasureOptions } from './measure.ts';
import { type ModelName, measureModel, type Outcome } from './models.ts';

export interface ImageReport {
  backend: string;
  results: ({ model: ModelName } & Outcome)[];
}

const { models, opts } = JSON.parse(process.argv[2] ?? '{}') as { models: ModelName[]; opts: MeasureOptions };
const selected = await selectBackend('auto', silentLogger);
const report: ImageReport = { backend: `${selected.name} (${selected.source})`, results: [] };
for (const model of models) {
  report.results.push(
    selected.name === 'tensorflow'
      ? { model, ...(await measureModel(model, opts)) }
      : { model, status: 'unavailable', reason: `the trainer picked ${selected.name}, not tensorflow` },
  );
}
process.stdout.write(`${JSON.stringify(report)}\n`);
