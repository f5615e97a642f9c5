import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildArchitecture } from './architectures/index.ts';
import { missingTrainingKernel, selectBackend } from './backend.ts';
import { silentLogger } from './log.ts';

beforeAll(async () => {
  tf.enableProdMode();
});

describe('selectBackend', () => {
  it.each(['wasm', 'cpu'] as const)('initialises the %s backend when asked for it', async (name) => {
    expect(await selectBackend(name, silentLogger)).toMatchObject({ name });
    expect(tf.getBackend()).toBe(name);
  });
});

describe('missingTrainingKernel', () => {
  it.each([
    [
      'the MLP',
      () => buildArchitecture('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }),
      [28, 28, 1],
      undefined,
    ],
    [
      'the CNN',
      () => buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }),
      [28, 28, 1],
      'Conv2DBackpropFilter',
    ],
    [
      'the LSTM',
      () => buildArchitecture('lstm-text', { inputShape: [8], numClasses: 2, vocabularySize: 20, seed: 1 }),
      [8],
      'UnsortedSegmentSum',
    ],
  ])('on wasm, finds what training %s lacks', async (_name, build, shape, kernel) => {
    await tf.setBackend('wasm');
    expect(missingTrainingKernel(build(), shape)).toBe(kernel);
  });

  it('finds nothing missing on the cpu backend', async () => {
    await tf.setBackend('cpu');
    const cnn = buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    expect(missingTrainingKernel(cnn, [28, 28, 1])).toBeUndefined();
  });
});
