import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { type ModelDeployment, ModelDeploymentSpec } from '../../../api/index.ts';
import { desiredChildren, desiredDeployment, desiredService } from './desired.ts';
import {
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
const active = { uri: V2, weight: 10, active: true };
const idle = { uri: V2, weight: 10, active: false };
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
