import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_TRIAL_EPOCHS,
  ANNOTATION_TRIAL_INDEX,
  ANNOTATION_TRIAL_RESUMES,
  boundedName,
  desiredExistingTrial,
  desiredTrial,
  LABEL_SWEEP,
  MAX_TRIAL_NAME,
  trialName,
  trialRecord,
  trialVersion,
} from './desired.ts';
import { sweepOf, trialOf } from './testing.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('trialName', () => {
  it.each([
    { name: 'a short sweep name is used as it is', sweep: 'mnist-lr', index: 7, expected: 'mnist-lr-7' },
    {
      name: 'a name that just fits is kept whole',
      sweep: 'a'.repeat(61),
      index: 9,
      expected: `${'a'.repeat(61)}-9`,
    },
  ])('$name', ({ sweep, index, expected }) => {
    expect(trialName(sweepOf({}, sweep), index)).toBe(expected);
  });

  it('cuts a long sweep name, keeps it a DNS label of at most 63 characters and tells two long names apart', () => {
    const a = trialName(sweepOf({}, `${'x'.repeat(200)}-a`), 999);
    const b = trialName(sweepOf({}, `${'x'.repeat(200)}-b`), 999);
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(MAX_TRIAL_NAME);
      expect(n).toMatch(DNS_LABEL);
      expect(n.endsWith('-999')).toBe(true);
    }
    expect(a).not.toBe(b);
  });

  it('drops a dash left at the cut so the name stays valid', () => {
    expect(boundedName(`${'a'.repeat(45)}-${'b'.repeat(40)}`, '-1', 56)).toMatch(DNS_LABEL);
  });
});

describe('trialVersion', () => {
  it.each([0, 1, 999])('is a valid, distinct artifact version for index %i', (index) => {
    const v = trialVersion(sweepOf(), index);
    expect(v).toMatch(/^[1-9][0-9]{0,18}$/);
    expect(v).toBe(String(Date.parse('2026-01-02T03:04:05Z') + index));
  });
});

describe('desiredTrial', () => {
  const sweep = sweepOf({
    parameters: [{ name: 'optimizer', type: 'categorical', values: ['adam', 'sgd'], scale: 'linear' }],
  });

  it('sets the suggested hyperparameters over the template and records what the algorithms read back', () => {
    const tj = desiredTrial(sweep, 4, {
      kind: 'trial',
      parameters: { learningRate: 0.02, optimizer: 'sgd' },
    });
    expect(tj.metadata).toMatchObject({
      name: 'mnist-lr-4',
      namespace: 'ml',
      labels: { [LABEL_SWEEP]: 'mnist-lr' },
      annotations: { [ANNOTATION_TRIAL_INDEX]: '4' },
      ownerReferences: [
        { kind: 'HyperparameterSweep', name: 'mnist-lr', uid: 'sweep-uid', controller: true },
      ],
    });
    expect(tj.spec.hyperparameters).toMatchObject({ epochs: 3, learningRate: 0.02, optimizer: 'sgd' });
    expect(tj.spec.output).toEqual({ uri: 's3://models/sweeps/', version: trialVersion(sweep, 4) });
    expect(trialRecord(tj)).toEqual({ index: 4, parameters: { learningRate: 0.02, optimizer: 'sgd' } });
  });

  const promotion = {
    kind: 'promote',
    trial: 2,
    rung: 1,
    epochs: 9,
    parameters: { learningRate: 0.1 },
  } as const;

  it('gives an ASHA promotion its epoch budget and the trial it continues', () => {
    const promoted = trialOf(sweep, 2, { state: 'Succeeded', objective: 0.3 });
    const tj = desiredTrial(sweep, 6, promotion, promoted);
    expect(tj.spec.hyperparameters.epochs).toBe(9);
    expect(tj.metadata.annotations).toMatchObject({
      [ANNOTATION_TRIAL_EPOCHS]: '9',
      [ANNOTATION_TRIAL_RESUMES]: '2',
    });
    expect(trialRecord(tj)).toMatchObject({ index: 6, epochs: 9, resumes: 2 });
  });

  it("continues the promoted trial's artifact, pinned by its manifest digest, instead of training from scratch", () => {
    const promoted = trialOf(sweep, 2, { state: 'Succeeded', objective: 0.3 });
    expect(desiredTrial(sweep, 6, promotion, promoted).spec.resumeFrom).toEqual({
      artifactURI: promoted.status!.artifact!.uri,
      manifestSha256: promoted.status!.artifact!.manifestSha256,
    });
  });

  it.each([
    ['a new configuration', { kind: 'trial', parameters: { learningRate: 0.1 } } as const],
    ['a promotion whose trial has no artifact in its status', promotion],
  ])('trains %s from scratch', (_name, suggestion) => {
    const running = trialOf(sweep, 2, { state: 'Running' });
    expect(desiredTrial(sweep, 6, suggestion, running).spec.resumeFrom).toBeUndefined();
  });

  it('starts a trial suspended while the sweep is suspended', () => {
    expect(desiredTrial(sweepOf({ suspend: true }), 0, { kind: 'trial', parameters: {} }).spec.suspend).toBe(
      true,
    );
  });
});

describe('desiredExistingTrial', () => {
  it('keeps the trial’s own spec when the template changed, and follows the sweep’s suspend', () => {
    const trial = trialOf(sweepOf(), 3, { state: 'Running' });
    const changed = sweepOf({
      suspend: true,
      trialTemplate: { ...sweepOf().spec.trialTemplate, hyperparameters: { epochs: 50 } as never },
    });
    const next = desiredExistingTrial(changed, trial);
    expect(next.spec).toEqual({ ...trial.spec, suspend: true });
    expect(next.metadata.annotations).toEqual(trial.metadata.annotations);
  });
});
