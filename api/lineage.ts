// What a model was trained on: the exact dataset objects the trainer read, as it records them in
// the artifact's manifest (every object), its termination message and the TrainingJob's status
// (the digest and as many objects as fit), so a person can tell which data produced a model even
// when the data pipeline has since replaced what is under the dataset's prefix
// (docs/retraining.md, docs/decisions/0032-retraining-on-drift.md).
import { createHash } from 'node:crypto';
import Type, { type Static } from 'typebox';

export const DatasetObject = Type.Object(
  {
    uri: Type.String({ minLength: 1, description: 'The object’s URI.' }),
    size: Type.Integer({ minimum: 0, description: 'Its size in bytes, as read.' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of its bytes, as read.' }),
  },
  { description: 'One object the trainer read its dataset from.' },
);
export type DatasetObject = Static<typeof DatasetObject>;

const digestProperties = {
  uri: Type.String({ description: 'spec.dataset.uri as the trainer was given it (an object or a prefix).' }),
  objects: Type.Integer({ minimum: 0, description: 'How many objects the trainer read.' }),
  bytes: Type.Integer({ minimum: 0, description: 'Their total size in bytes.' }),
  sha256: Type.String({
    pattern: '^[0-9a-f]{64}$',
    description:
      'sha256 over the objects read: one line "<sha256> <size> <uri>\\n" per object, sorted by URI. Two runs with the same digest trained on the same bytes.',
  }),
};

/** The summary without the list of objects: what a ModelDeployment's retrain status records. */
export const DatasetDigest = Type.Object(digestProperties, {
  description:
    'What the retrain trained on: the dataset’s URI, how many objects and bytes the trainer read, and their digest (the TrainingJob’s status.dataset and the artifact’s manifest.json list the objects).',
});
export type DatasetDigest = Static<typeof DatasetDigest>;

export const DatasetRead = Type.Object(
  {
    ...digestProperties,
    files: Type.Optional(
      Type.Array(DatasetObject, {
        description:
          'Each object read, sorted by URI. The artifact’s manifest.json lists them all; a termination message or status without room for every one lists the first ones (objects says how many there are).',
      }),
    ),
  },
  { description: 'The exact data the model was trained on.' },
);
export type DatasetRead = Static<typeof DatasetRead>;

/** "4 objects (52.4 MB, sha256 1a2b3c4d…) under s3://…": the digest in words for messages and events. */
export function describeDatasetRead(d: DatasetDigest): string {
  const mb = d.bytes / 1e6;
  const size = mb >= 0.1 ? `${mb.toFixed(1)} MB` : `${d.bytes} bytes`;
  return `${d.objects} object${d.objects === 1 ? '' : 's'} (${size}, sha256 ${d.sha256.slice(0, 12)}…) under ${d.uri}`;
}

/** The record of the objects read (sorted by URI, each once), with their digest as DatasetRead defines it. */
export function datasetRead(uri: string, objects: DatasetObject[]): DatasetRead {
  const files = [...new Map(objects.map((o) => [o.uri, o])).values()].sort((a, b) =>
    a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0,
  );
  const digest = createHash('sha256');
  for (const f of files) digest.update(`${f.sha256} ${f.size} ${f.uri}\n`);
  return {
    uri,
    objects: files.length,
    bytes: files.reduce((n, f) => n + f.size, 0),
    sha256: digest.digest('hex'),
    files,
  };
}

/** The digest of a record, without its list of objects. */
export const digestOf = ({ files: _files, ...digest }: DatasetRead): DatasetDigest => digest;
