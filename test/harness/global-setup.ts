// vitest globalSetup: starts the real services the tests run against, once per run, and hands
// their coordinates to the test workers through environment variables (forked workers inherit
// them). K2K_SERVICES=s3,controlplane (default: all) limits what is started.
//
//   controlplane: K2K_TEST_KUBECONFIG (admin kubeconfig of kube-apiserver + etcd + kube-controller-manager +
//                 kube-scheduler, with k2k's CRDs installed), K2K_TEST_KUBECTL
//   s3:           K2K_TEST_S3_ENDPOINT, K2K_TEST_S3_ACCESS_KEY, K2K_TEST_S3_SECRET_KEY, K2K_TEST_S3_REGION
import { startControlPlane } from '../../hack/cluster/controlplane.ts';
import { installCRDs } from './crds.ts';
import { startS3Server } from './s3.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const wanted = new Set((process.env.K2K_SERVICES ?? 'all').split(',').map((s) => s.trim()));
  const want = (name: string) => wanted.has('all') || wanted.has(name);
  const stops: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const started = await Promise.allSettled([
      want('s3') ? startS3Server() : undefined,
      want('controlplane')
        ? startControlPlane({ log: (line) => console.log(`[controlplane] ${line}`) })
        : undefined,
    ]);
    for (const r of started) if (r.status === 'fulfilled' && r.value) stops.push(() => r.value!.stop());
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [s3, controlPlane] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      Awaited<ReturnType<typeof startS3Server>> | undefined,
      Awaited<ReturnType<typeof startControlPlane>> | undefined,
    ];
    if (s3) {
      process.env.K2K_TEST_S3_ENDPOINT = s3.endpoint;
      process.env.K2K_TEST_S3_ACCESS_KEY = s3.accessKeyId;
      process.env.K2K_TEST_S3_SECRET_KEY = s3.secretAccessKey;
      process.env.K2K_TEST_S3_REGION = s3.region;
    }
    if (controlPlane) {
      process.env.K2K_TEST_KUBECONFIG = controlPlane.kubeconfigPath;
      process.env.K2K_TEST_KUBECTL = `${controlPlane.binDir}/kubectl`;
      await installCRDs(`${controlPlane.binDir}/kubectl`, controlPlane.kubeconfigPath);
    }
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
