import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetRead } from '../../api/lineage.ts';
import { fileURI, joinURI, type ObjectStore, openStore } from '../../lib/storage/index.ts';
import { recordingReader } from './recorded.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('a recording reader', () => {
  let dir: string;
  let store: ObjectStore;
  let prefix: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-recorded-'));
    store = openStore();
    prefix = joinURI(fileURI(dir), 'data/');
    await store.put(joinURI(prefix, 'b.csv'), 'x,y\n1,2\n');
    await store.put(joinURI(prefix, 'a.csv'), 'x,y\n');
    await store.put(joinURI(prefix, 'unread.csv'), 'never read\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('records each object it handed out, as read, and none it only listed', async () => {
    const reader = recordingReader(store);
    expect(await reader.list(prefix)).toHaveLength(3);
    await reader.get(joinURI(prefix, 'b.csv'));
    await reader.get(joinURI(prefix, 'a.csv'));
    await reader.get(joinURI(prefix, 'b.csv'));
    const read = reader.read(prefix);
    expect(read).toEqual(
      datasetRead(prefix, [
        { uri: joinURI(prefix, 'a.csv'), size: 4, sha256: sha256('x,y\n') },
        { uri: joinURI(prefix, 'b.csv'), size: 8, sha256: sha256('x,y\n1,2\n') },
      ]),
    );
    expect(read.objects).toBe(2);
  });

  it('gives another digest once the data under the prefix changed', async () => {
    const before = recordingReader(store);
    await before.get(joinURI(prefix, 'a.csv'));
    await store.put(joinURI(prefix, 'a.csv'), 'x,y\n3,4\n');
    const after = recordingReader(store);
    await after.get(joinURI(prefix, 'a.csv'));
    expect(after.read(prefix).sha256).not.toBe(before.read(prefix).sha256);
  });
});
