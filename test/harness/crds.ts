// Installs the generated CRDs (crds/) with kubectl, as a user would, and waits until the API
// server serves them. (client-node's typed serializer would drop the x-kubernetes-* keys.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const crdDir = new URL('../../crds/', import.meta.url).pathname;
const run = promisify(execFile);

export async function installCRDs(kubectl: string, kubeconfig: string): Promise<void> {
  const args = ['--kubeconfig', kubeconfig];
  await run(kubectl, [...args, 'apply', '--server-side', '--field-manager=k2k-test', '-k', crdDir]);
  await run(kubectl, [
    ...args,
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd',
    'trainingjobs.k2k.dev',
    'hyperparametersweeps.k2k.dev',
    'modeldeployments.k2k.dev',
  ]);
}
