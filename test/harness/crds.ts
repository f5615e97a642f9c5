// Installs the generated CRDs (crds/) with kubectl, as a user would, and waits until the API
// server serves them. (client-node's typed serializer would drop the x-kubernetes-* keys.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './eventually.ts';

const crdDir = new URL('../../crds/', import.meta.url).pathname;
const run = promisify(execFile);
const names = ['trainingjobs.k2k.dev', 'hyperparametersweeps.k2k.dev', 'modeldeployments.k2k.dev'];

export async function installCRDs(kubectl: string, kubeconfig: string): Promise<void> {
  const args = ['--kubeconfig', kubeconfig];
  await run(kubectl, [...args, 'apply', '--server-side', '--field-manager=k2k-test', '-k', crdDir]);
  // Right after creation a CRD may have no conditions yet, which `kubectl wait` reports as an
  // error instead of waiting: retry until every one is Established.
  await eventually(
    () =>
      run(kubectl, [...args, 'wait', '--for=condition=Established', '--timeout=30s', 'crd', ...names]).then(
        () => true,
      ),
    { what: 'the k2k CRDs to be Established', timeoutMs: 60_000, intervalMs: 500 },
  );
}
