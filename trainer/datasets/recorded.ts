// The dataset's objects as the trainer read them: a Reader that hashes every object it hands to a
// format's loader, so the artifact records the exact bytes the model was trained on, whatever the
// data pipeline puts under the dataset's prefix later (api/lineage.ts).
import { type DatasetObject, type DatasetRead, datasetRead } from '../../api/lineage.ts';
import { sha256Hex } from '../../lib/artifact/index.ts';
import type { Reader } from './format.ts';

export interface RecordingReader extends Reader {
  /** What was read so far, with its digest. */
  read(uri: string): DatasetRead;
}

export function recordingReader(store: Reader): RecordingReader {
  const objects: DatasetObject[] = [];
  return {
    async get(uri) {
      const bytes = await store.get(uri);
      objects.push({ uri, size: bytes.length, sha256: sha256Hex(bytes) });
      return bytes;
    },
    list: (prefixUri) => store.list(prefixUri),
    read: (uri) => datasetRead(uri, objects),
  };
}
