import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { type ModelDeployment, ModelDeploymentSpec } from '../../../api/index.ts';
import { desiredChildren, desiredDeployment, desiredService } from './desired.ts';
import {
  canaryReplicas,
  desiredCanaryDeployment,
  desiredCanaryService,
  desiredTrafficConfigMap,
  withCanaryChildren,
  withTrafficSplit,
} from './desired-canary.ts';

const opts = { image: 'k2k/model-server:default' };
const V1 = 's3://models/iris/1/';
const V2 = 's3://models/iris/2/';
const md: ModelDeployment = {
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { name: 'iris', namespace: 'ml', uid: 'uid-1', generation: 1 },
  spec: Value.Default(ModelDeploymentSpec, {
    model: { artifactURI: V2 },
    canary: {},
  }) as ModelDeployment['spec'],
};
const active = { uri: V2, weight: 10, replicas: 1 };
const idle = { uri: V2, weight: 0, replicas: 0 };
const env = (d: ReturnType<typeof desiredDeployment>) =>
  Object.fromEntries(d.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the canary children', () => {
  it('gives canary pods labels that neither the model’s Service nor the stable Deployment selects', () => {
    const canaryPods = desiredCanaryDeployment(md, active, opts).spec!.template.metadata!.labels!;
    expect(matches(desiredService(md).spec!.selector!, canaryPods)).toBe(false);
    expect(matches(desiredDeployment(md, V1, opts).spec!.selector.matchLabels!, canaryPods)).toBe(false);
    expect(matches(desiredCanaryService(md).spec!.selector!, canaryPods)).toBe(true);
  });

  it('runs the canary artifact on the canary track without a traffic file (a canary never forwards)', () => {
    const e = env(desiredCanaryDeployment(md, active, opts));
    expect(e).toMatchObject({ K2K_MODEL_URI: V2, K2K_TRACK: 'canary' });
    expect(e.K2K_TRAFFIC_FILE).toBeUndefined();
  });

  it('has the stable pods read their split from the mounted ConfigMap, so a new weight needs no restart', () => {
    const stable = withTrafficSplit(desiredDeployment(md, V1, opts), md);
    expect(env(stable)).toMatchObject({
      K2K_MODEL_URI: V1,
      K2K_TRACK: 'stable',
      K2K_TRAFFIC_FILE: '/etc/k2k/traffic/traffic.json',
    });
    expect(stable.spec!.template.spec!.volumes).toContainEqual({
      name: 'traffic',
      configMap: { name: 'iris-traffic', optional: true },
    });
    // The weight is not in the pod template: changing it does not roll the stable pods.
    expect(JSON.stringify(stable.spec!.template)).not.toMatch(/"weight"/);
  });

  it.each([
    ['forwards the step’s weight while a rollout runs', active, 10, 1],
    ['forwards nothing and scales the canary to 0 when no rollout runs', idle, 0, 0],
  ])('%s', (_name, plan, weight, replicas) => {
    expect(JSON.parse(desiredTrafficConfigMap(md, plan).data!['traffic.json']!)).toEqual({
      canaryURL: 'http://iris-canary.ml.svc:80',
      canaryGrpcAddress: 'iris-canary.ml.svc:8500',
      weight,
    });
    expect(desiredCanaryDeployment(md, plan, opts).spec!.replicas).toBe(replicas);
  });

  it('adds the ConfigMap and the canary Service and Deployment, each owned by the ModelDeployment', () => {
    const children = withCanaryChildren(md, desiredChildren(md, V1, opts), active, opts);
    const added = children.slice(-3);
    expect(added.map((c) => `${c.kind}/${c.metadata!.name}`)).toEqual([
      'ConfigMap/iris-traffic',
      'Service/iris-canary',
      'Deployment/iris-canary',
    ]);
    for (const c of added)
      expect(c.metadata!.ownerReferences![0]).toMatchObject({ uid: 'uid-1', controller: true });
  });
});

describe('the canary’s replica count', () => {
  const sized = (canary: { replicas?: number }, replicas = { min: 1, max: 20 }): ModelDeployment => ({
    ...md,
    spec: Value.Default(ModelDeploymentSpec, {
      model: { artifactURI: V2 },
      canary,
      replicas,
    }) as ModelDeployment['spec'],
  });
  it.each([
    ['gives 10% of the work of 9 stable pods one pod', sized({}), 10, 9, 1],
    ['gives 10% of the work of 10 stable pods two pods (9 do the other 90%)', sized({}), 10, 10, 2],
    ['gives 50% as many pods as the stable track', sized({}), 50, 4, 4],
    ['gives 25% of the work of one stable pod one pod', sized({}), 25, 1, 1],
    ['keeps spec.canary.replicas as the least', sized({ replicas: 3 }), 10, 2, 3],
    ['never exceeds spec.replicas.max', sized({}, { min: 1, max: 5 }), 75, 4, 5],
    ['takes spec.replicas.max at weight 100', sized({}, { min: 1, max: 5 }), 100, 2, 5],
    ['runs its least while paused at weight 0', sized({ replicas: 2 }), 0, 6, 2],
  ])('%s', (_name, m, weight, stableReplicas, want) => {
    expect(canaryReplicas(m, weight, stableReplicas)).toBe(want);
    const plan = { uri: V2, weight, replicas: canaryReplicas(m, weight, stableReplicas) };
    expect(desiredCanaryDeployment(m, plan, opts).spec!.replicas).toBe(want);
  });

  it('sizes from spec.replicas.min before the stable Deployment has a count', () => {
    expect(canaryReplicas(sized({}, { min: 9, max: 20 }), 50)).toBe(9);
  });
});
