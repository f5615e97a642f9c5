// The operator as it is deployed: its image (hack/images/build.sh operator), its RBAC and
// Deployment from config/default, in a real pod on the local node.
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../harness/eventually.ts';
import { apply, clusterPace, kubectl, kubectlJson } from './kube.ts';

const system = 'k2k-system';
const namespace = `e2e-operator-${Date.now().toString(36)}`;

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status: { phase?: string; containerStatuses?: Array<{ ready: boolean }> };
  spec: {
    securityContext?: { runAsUser?: number };
    containers: Array<{ image: string; securityContext?: { readOnlyRootFilesystem?: boolean } }>;
  };
}

async function operatorPods(): Promise<Pod[]> {
  const list = await kubectlJson<{ items: Pod[] }>([
    'get',
    'pods',
    '-n',
    system,
    '-l',
    'app.kubernetes.io/name=k2k-operator',
  ]);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function leader(): Promise<string> {
  return (
    await kubectl(['get', 'lease', '-n', system, 'k2k-operator', '-o', 'jsonpath={.spec.holderIdentity}'])
  ).trim();
}

describe('the operator deployed from its image with config/default', () => {
  beforeAll(async () => {
    const images = await kubectlJson<{ status: { images: Array<{ names: string[] }> } }>([
      'get',
      'node',
      'k2k-node',
    ]);
    if (!images.status.images.some((i) => i.names.includes('localhost/k2k/operator:dev'))) {
      throw new Error(
        'localhost/k2k/operator:dev is not on the node: run bash hack/images/build.sh operator',
      );
    }
    await kubectl(['apply', '--server-side', '--force-conflicts', '-k', 'config/default']);
    await kubectl(['rollout', 'status', '-n', system, 'deployment/k2k-operator', '--timeout=180s']);
    await kubectl(['create', 'namespace', namespace]);
  });

  afterAll(async () => {
    // The operator stays installed: other e2e files use it, and a fresh node is torn down anyway.
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  });

  it('runs as uid 65532 on a read-only root filesystem', async () => {
    const [pod] = await operatorPods();
    if (!pod) throw new Error('no operator pod');
    expect(pod.spec.containers[0]?.securityContext?.readOnlyRootFilesystem).toBe(true);
    const out = await kubectl([
      'exec',
      '-n',
      system,
      pod.metadata.name,
      '--',
      'node',
      '-e',
      `let write = 'writable';
      try { require('fs').writeFileSync('/app/probe', 'x'); } catch (e) { write = e.code; }
      console.log(process.getuid() + ' ' + write);`,
    ]);
    expect(out.trim()).toBe('65532 EROFS');
  });

  it('elects a new leader after the leading pod is deleted and keeps reconciling', async () => {
    const before = await eventually(async () => (await leader()) || undefined, {
      what: 'a leader',
      ...clusterPace,
    });
    await kubectl(['delete', 'pod', '-n', system, before, '--wait=true']);
    const after = await eventually(
      async () => {
        const holder = await leader();
        const live = (await operatorPods()).map((p) => p.metadata.name);
        return holder !== before && live.includes(holder) ? holder : undefined;
      },
      { what: 'another pod to take the lease', ...clusterPace },
    );
    expect(after).not.toBe(before);
    await kubectl(['rollout', 'status', '-n', system, 'deployment/k2k-operator', '--timeout=180s']);

    // Reconciling still works: a TrainingJob made now gets its batch Job from the new leader.
    const sample = yaml.load(await readFile('config/samples/trainingjob.yaml', 'utf8')) as {
      metadata: Record<string, string>;
    };
    sample.metadata.namespace = namespace;
    const secret = yaml.load(await readFile('config/samples/storage-secret.yaml', 'utf8')) as {
      metadata: Record<string, string>;
    };
    secret.metadata.namespace = namespace;
    await apply([secret, sample]);
    const jobs = await eventually(
      async () => {
        const list = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>([
          'get',
          'jobs',
          '-n',
          namespace,
          '-l',
          `k2k.dev/trainingjob=${sample.metadata.name}`,
        ]);
        return list.items.length > 0 ? list.items : undefined;
      },
      { what: 'the operator to create the training Job', ...clusterPace },
    );
    expect(jobs).toHaveLength(1);
  });
});
