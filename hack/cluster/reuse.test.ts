import { describe, expect, it } from 'vitest';
import { type ClusterPlan, type Inspected, planLocalCluster } from './reuse.ts';

const root = '/root/.local/state/k2k';
const up = (name: string) => ({ name, alive: true, healthy: true, detail: 'HTTP 200' });
const dead = (name: string) => ({ name, alive: false, healthy: false, detail: 'not running' });
const check = (name: string, healthy: boolean, detail: string) => ({ name, healthy, detail });

const controlPlane: Inspected = { components: [up('etcd'), up('kube-apiserver')] };
const node: Inspected = {
  components: [
    up('containerd'),
    up('kubelet'),
    check('node k2k-node', true, 'Ready'),
    check('forward guard', true, 'first'),
  ],
};
const deadControlPlane: Inspected = { components: [dead('etcd'), dead('kube-apiserver')] };
const deadNode: Inspected = {
  components: [
    dead('containerd'),
    dead('kubelet'),
    check('node k2k-node', false, 'not Ready (connect ECONNREFUSED)'),
  ],
};
const guardDisplaced: Inspected = {
  components: [
    up('containerd'),
    up('kubelet'),
    check('node k2k-node', true, 'Ready'),
    check('forward guard', false, 'missing or not first in FORWARD'),
  ],
};

describe('planLocalCluster', () => {
  it.each<[string, Inspected | undefined, Inspected | undefined, ClusterPlan]>([
    ['reuses a whole, healthy cluster (the demo’s)', controlPlane, node, { action: 'reuse' }],
    ['starts one when there is none', undefined, undefined, { action: 'start', leftovers: false }],
    [
      'clears the dead leftovers of a crash and starts one',
      deadControlPlane,
      deadNode,
      { action: 'start', leftovers: true },
    ],
    [
      'starts one over a control plane whose processes are gone',
      deadControlPlane,
      undefined,
      { action: 'start', leftovers: true },
    ],
  ])('%s', (_, cp, n, plan) => {
    expect(planLocalCluster(root, cp, n)).toEqual(plan);
  });

  it.each<[string, Inspected | undefined, Inspected | undefined, RegExp[]]>([
    [
      'refuses to replace the node of a running control plane when the node is unhealthy',
      controlPlane,
      guardDisplaced,
      [/control plane: healthy/, /node: forward guard missing or not first in FORWARD/],
    ],
    [
      'refuses to add a node to a control plane somebody runs without one',
      controlPlane,
      undefined,
      [/node: none \(\/root\/\.local\/state\/k2k\/node\)/],
    ],
    [
      'refuses to restart a control plane that a running node points at',
      deadControlPlane,
      node,
      [/control plane: etcd not running/, /control plane: kube-apiserver not running/, /node: healthy/],
    ],
  ])('%s', (_, cp, n, lines) => {
    const plan = planLocalCluster(root, cp, n);
    expect(plan.action).toBe('refuse');
    const reason = plan.action === 'refuse' ? plan.reason : '';
    for (const line of lines) expect(reason).toMatch(line);
    expect(reason).toContain(`a local cluster runs in ${root}`);
    expect(reason).toContain('npx tsx hack/cluster/cli.ts node-up');
    expect(reason).toContain('npx tsx hack/cluster/cli.ts down');
  });
});
