// The dataset formats, one file each, keyed by the names in api's DATASET_FORMATS (the CRD's
// enum): adding a format is one file and one line here, and the type below fails to compile
// until the two agree.
import type { DatasetRead } from '../../api/lineage.ts';
import type { TrainerConfig } from '../../api/trainer.ts';
import type { DatasetSpec } from '../../api/training.ts';
import { isStorageError } from '../../lib/storage/index.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { csv } from './csv.ts';
import type { DatasetFormat, DatasetFormatName, LoadOptions, PreparedDataset, Reader } from './format.ts';
import { jsonl } from './jsonl.ts';
import { mnistIdx } from './mnist-idx.ts';
import { recordingReader } from './recorded.ts';

export type { DatasetFormatName, LoadOptions, Part, PreparedDataset, Reader, Task } from './format.ts';

export const datasetFormats: { readonly [F in DatasetFormatName]: DatasetFormat<F> } = {
  'mnist-idx': mnistIdx,
  csv,
  jsonl,
};

export async function loadDataset(
  store: Reader,
  spec: DatasetSpec,
  opts: LoadOptions,
): Promise<PreparedDataset> {
  return datasetFormats[spec.format].load(store, spec, opts);
}

/**
 * The run's dataset, prepared, and the exact objects it was read from (for the manifest and the
 * termination message); storage that does not have it or refuses it is the dataset's fault.
 */
export async function readDataset(
  store: Reader,
  config: TrainerConfig,
  log: Logger,
): Promise<{ data: PreparedDataset; dataset: DatasetRead }> {
  let data: PreparedDataset;
  const recorder = recordingReader(store);
  try {
    data = await loadDataset(recorder, config.dataset, {
      task: config.model.task,
      validationSplit: config.hyperparameters.validationSplit,
      seed: config.hyperparameters.seed,
    });
  } catch (err) {
    if (isStorageError(err, 'NotFound') || isStorageError(err, 'AccessDenied')) {
      throw new TrainerError(TrainerErrorCode.DatasetUnreadable, `cannot read the dataset: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  const dataset = recorder.read(config.dataset.uri);
  log.info('dataset loaded', {
    uri: config.dataset.uri,
    format: config.dataset.format,
    train: data.train.n,
    validation: data.validation.n,
    ...(data.test ? { test: data.test.n } : {}),
    sampleShape: data.sampleShape,
    ...(data.classNames ? { classes: data.classNames.length } : {}),
    objects: dataset.objects,
    bytes: dataset.bytes,
    sha256: dataset.sha256,
  });
  return { data, dataset };
}
