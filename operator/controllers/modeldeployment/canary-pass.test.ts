import type { V1Deployment, V1DeploymentCondition, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { canaryNotReadyBecause } from './canary-pass.ts';

const canary = (...conditions: V1DeploymentCondition[]): V1Deployment => ({
  metadata: { name: 'iris-canary' },
  status: { conditions },
});
const pod = (name: string, status: V1Pod['status'], nodeName?: string): V1Pod => ({
  metadata: { name, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: { containers: [{ name: 'server' }], ...(nodeName ? { nodeName } : {}) },
  status,
});
const ready = pod('iris-canary-ready', { conditions: [{ type: 'Ready', status: 'True' }] }, 'node-1');
const unschedulable = pod('iris-canary-full', {
  conditions: [
    { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' },
  ],
});
const pullFailed = pod(
  'iris-canary-pull',
  {
    containerStatuses: [
      {
        name: 'server',
        image: 'k2k/server:missing',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
      },
    ],
  },
  'node-1',
);

describe('why a canary lacks ready pods', () => {
  it.each<[string, V1Deployment | undefined, V1Pod[], string]>([
    [
      'names a pod the scheduler cannot place',
      canary(),
      [unschedulable],
      'Unschedulable: model server pod iris-canary-full cannot be scheduled: 0/3 nodes are available',
    ],
    [
      'names an image that cannot be pulled, past the pods that are ready',
      canary(),
      [ready, pullFailed],
      'ImagePullFailed: model server image cannot be pulled (ImagePullBackOff): Back-off pulling image',
    ],
    [
      'leads with the canary Deployment’s own progress deadline',
      canary({
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "iris-canary-1" has timed out progressing.',
      }),
      [pullFailed],
      'ProgressDeadlineExceeded: ReplicaSet "iris-canary-1" has timed out progressing; ImagePullFailed: model server image cannot be pulled (ImagePullBackOff): Back-off pulling image',
    ],
    [
      'names a replica failure, such as a quota, when no pod was created',
      canary({
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: 'pods "iris-canary-1-x" is forbidden: exceeded quota',
      }),
      [],
      'FailedCreate: pods "iris-canary-1-x" is forbidden: exceeded quota; ModelLoading: waiting for model server pods to be created',
    ],
    [
      'says a pod is still starting when nothing failed',
      canary({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }),
      [pod('iris-canary-slow', {}, 'node-1')],
      'ModelLoading: model server pod iris-canary-slow is starting on node node-1: not ready until the model is loaded and warmed up (/readyz)',
    ],
  ])('%s', (_name, deployment, pods, expected) => {
    expect(canaryNotReadyBecause(deployment, pods)).toBe(expected);
  });
});
