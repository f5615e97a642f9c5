import { describe, expect, it } from 'vitest';
import { ALLOW_ALL, checkPodPolicy, imageAllowed } from './policy.ts';

describe('imageAllowed', () => {
  const allowed = ['registry.example.com/ml/', 'ghcr.io/k2k/trainer', 'docker.io/library/python:3.12'];
  it.each([
    { name: 'allows any image when nothing is listed', image: 'evil.io/x:1', list: [], expected: true },
    {
      name: 'allows an image under an allowed prefix',
      image: 'registry.example.com/ml/bert:2',
      expected: true,
    },
    {
      name: 'allows a nested path under an allowed prefix',
      image: 'registry.example.com/ml/a/b@sha256:ab',
      expected: true,
    },
    { name: 'refuses the prefix alone', image: 'registry.example.com/ml/', expected: false },
    { name: 'refuses a sibling path of a prefix', image: 'registry.example.com/mlx/bert:2', expected: false },
    { name: 'refuses a look-alike host', image: 'registry.example.com.evil.io/ml/bert', expected: false },
    { name: 'allows an allowed repository at any tag', image: 'ghcr.io/k2k/trainer:1.4', expected: true },
    {
      name: 'allows an allowed repository by digest',
      image: 'ghcr.io/k2k/trainer@sha256:0f',
      expected: true,
    },
    { name: 'allows an allowed repository without a tag', image: 'ghcr.io/k2k/trainer', expected: true },
    {
      name: 'refuses a repository that only starts like an allowed one',
      image: 'ghcr.io/k2k/trainer-evil:1',
      expected: false,
    },
    { name: 'allows an exact reference', image: 'docker.io/library/python:3.12', expected: true },
    {
      name: 'refuses another tag of an exact reference',
      image: 'docker.io/library/python:3.13',
      expected: false,
    },
    { name: 'compares images as written, so a short name is refused', image: 'python:3.12', expected: false },
  ])('$name', ({ image, list, expected }) => {
    expect(imageAllowed(image, list ?? allowed)).toBe(expected);
  });
});

describe('checkPodPolicy', () => {
  const policy = { allowedImages: ['registry.example.com/'], allowedServiceAccounts: ['trainer'] };
  it.each([
    { name: 'allows a spec that names neither image nor account', spec: {}, reason: undefined },
    {
      name: 'allows anything when the policy is off',
      spec: { image: 'x', serviceAccountName: 'admin' },
      off: true,
      reason: undefined,
    },
    {
      name: 'allows an allowed image and account',
      spec: { image: 'registry.example.com/t:1', serviceAccountName: 'trainer' },
      reason: undefined,
    },
    {
      name: 'refuses an image outside the list',
      spec: { image: 'evil.io/miner:1' },
      reason: 'ImageNotAllowed',
    },
    {
      name: 'refuses an account outside the list',
      spec: { serviceAccountName: 'admin' },
      reason: 'ServiceAccountNotAllowed',
    },
  ])('$name', ({ spec, off, reason }) => {
    expect(checkPodPolicy(spec, off ? ALLOW_ALL : policy, 'TrainingJob')?.reason).toBe(reason);
  });

  it('names the field, the value and what is allowed', () => {
    expect(checkPodPolicy({ image: 'evil.io/miner:1' }, policy, 'TrainingJob')?.message).toBe(
      "spec.image evil.io/miner:1 is not allowed by the operator's configuration (allowed: registry.example.com/); this TrainingJob is not run until spec.image is changed",
    );
  });
});
