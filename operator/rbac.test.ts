import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type ModelDeployment,
  ModelDeploymentSpec,
  type TrainingJob,
  TrainingJobSpec,
} from '../api/index.ts';
import { setupModelDeploymentController } from './controllers/modeldeployment/controller.ts';
import { desiredChildren as modelDeploymentChildren } from './controllers/modeldeployment/desired.ts';
import { monitoringPlan } from './controllers/modeldeployment/monitoring.ts';
import { setupTrainingJobController } from './controllers/trainingjob/controller.ts';
import { desiredRole, desiredChildren as trainingJobChildren } from './controllers/trainingjob/desired.ts';
import { OPERATOR_PERMISSIONS } from './rbac.ts';
import {
  allows,
  Manager,
  mergePermissions,
  type Permission,
  type PolicyRule,
  type ResourceRef,
} from './runtime/index.ts';

const rules = mergePermissions(OPERATOR_PERMISSIONS);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
// Every kind k2k applies has a regular plural (ServiceAccount → serviceaccounts).
const pluralOf = (kind: string) => `${kind.toLowerCase()}s`;

/** A sample from config/samples as the API server would return it: defaults applied, uid and creation time set. */
function sample<T extends TrainingJob | ModelDeployment>(
  file: string,
  schema: TSchema,
  spec: object = {},
): T {
  const obj = yaml.load(readFileSync(new URL(`../config/samples/${file}`, import.meta.url), 'utf8')) as T;
  return {
    ...obj,
    metadata: { ...obj.metadata, namespace: 'ml', uid: 'uid-1', creationTimestamp: new Date() },
    spec: Value.Default(schema, { ...obj.spec, ...spec }),
  } as T;
}
const trainingJob = (spec: object = {}) => sample<TrainingJob>('trainingjob.yaml', TrainingJobSpec, spec);
const modelDeployment = () => sample<ModelDeployment>('modeldeployment.yaml', ModelDeploymentSpec);

/** A manager that remembers which informers the controllers asked it for. */
class RecordingManager extends Manager {
  readonly refs: ResourceRef[] = [];
  override informer<T extends import('@kubernetes/client-node').KubernetesObject>(ref: ResourceRef) {
    this.refs.push(ref);
    return super.informer<T>(ref);
  }
}

describe("the operator's ClusterRole (generated into config/rbac/role.yaml)", () => {
  it('lets every informer the controllers build list and watch its resource', () => {
    const manager = new RecordingManager({ kubeConfig: new KubeConfig(), handleSignals: false });
    const kubeConfig = new KubeConfig();
    setupTrainingJobController(manager, { kubeConfig, images: { cpu: 'c', gpu: 'g' } });
    setupModelDeploymentController(manager, { kubeConfig, server: { image: 's' } });
    expect(manager.refs.length).toBeGreaterThan(0);
    for (const ref of manager.refs) {
      for (const verb of ['list', 'watch']) {
        expect(allows(rules, groupOf(ref.apiVersion), ref.plural, verb), `${verb} ${ref.plural}`).toBe(true);
      }
    }
  });

  it.each([
    ['a TrainingJob', trainingJobChildren(trainingJob(), { cpu: 'c', gpu: 'g' })],
    [
      'a TrainingJob with its own serviceAccountName',
      trainingJobChildren(trainingJob({ serviceAccountName: 'mine' }), { cpu: 'c', gpu: 'g' }),
    ],
    ['a ModelDeployment', modelDeploymentChildren(modelDeployment(), 's3://models/mnist/1/', { image: 's' })],
    [
      'a ModelDeployment where the Prometheus Operator runs',
      monitoringPlan(modelDeployment(), { state: 'served' }).children,
    ],
  ])('lets the operator read (to see whose it is), create and patch every child of %s', (_name, children) => {
    for (const child of children) {
      for (const verb of ['get', 'create', 'patch']) {
        const resource = pluralOf(child.kind!);
        expect(allows(rules, groupOf(child.apiVersion!), resource, verb), `${verb} ${resource}`).toBe(true);
      }
    }
  });

  it.each([
    ['TrainingJobs', 'trainingjobs'],
    ['ModelDeployments', 'modeldeployments'],
  ])(
    'lets the operator patch the status of %s and set blockOwnerDeletion on their children',
    (_n, plural) => {
      expect(allows(rules, 'k2k.dev', `${plural}/status`, 'patch')).toBe(true);
      expect(allows(rules, 'k2k.dev', `${plural}/finalizers`, 'update')).toBe(true);
    },
  );

  it("holds everything the trainer's per-job Role grants, as RBAC requires of whoever creates a Role", () => {
    for (const rule of desiredRole(trainingJob()).rules ?? []) {
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs)
            expect(allows(rules, group, resource, verb), `${verb} ${group}/${resource}`).toBe(true);
    }
  });

  it('never updates a status it only patches, and never deletes (owner references do)', () => {
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('delete');
      if (rule.resources.some((r) => r.endsWith('/status'))) expect(rule.verbs).not.toContain('update');
    }
  });
});

describe('mergePermissions', () => {
  const p = (group: string, resources: string[], verbs: Permission['verbs'], why: string): Permission => ({
    group,
    resources,
    verbs,
    why,
  });
  it.each([
    [
      'unions the verbs declared for one resource, in the canonical order',
      [p('batch', ['jobs'], ['patch', 'create'], 'a'), p('batch', ['jobs'], ['watch', 'list'], 'b')],
      [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch', 'create', 'patch'] }],
    ],
    [
      'puts resources of one group that need the same verbs in one rule',
      [p('', ['pods'], ['list', 'watch'], 'a'), p('', ['services'], ['list', 'watch'], 'b')],
      [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['list', 'watch'] }],
    ],
    [
      'keeps the same resource name in two groups apart',
      [p('', ['events'], ['create'], 'a'), p('events.k8s.io', ['events'], ['create'], 'a')],
      [
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
      ],
    ],
  ] as Array<[string, Permission[], PolicyRule[]]>)('%s', (_name, perms, want) => {
    expect(mergePermissions(perms).map(({ why: _why, ...rule }) => rule)).toEqual(want);
  });

  it('says each reason once on the rule it shaped', () => {
    const merged = mergePermissions([
      p('', ['pods'], ['list'], 'the informer'),
      p('', ['pods'], ['watch'], 'the informer'),
    ]);
    expect(merged[0]!.why).toEqual(['the informer']);
  });
});
