// The canary split on the local cluster, through kube-proxy: two stable pods behind the model's
// Service, one canary pod, a client in a pod holding keep-alive connections. At 10% weight the
// canary must receive 10% ± 1.5% of 10,000 requests (in fact exact to one request per stable pod:
// the split is a counter in each stable pod, docs/canary.md). Then 2,000 gRPC calls on one HTTP/2
// connection, which kube-proxy pins to one stable pod: exact too, by that pod's gRPC counter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, grpcClients } from '../../server/grpc/client.ts';
import { tabularRows, writeTabularArtifact } from '../../server/test/fixtures.ts';
import { eventually } from '../harness/eventually.ts';
import {
  apply,
  clusterPace,
  failWithClusterState,
  kubectl,
  podMetric as podMetricIn,
  podsMetric,
  readyPods as readyPodsIn,
  runInPod,
  setArtifact,
  waitForModelDeployment,
} from './kube.ts';
import { type TestStorage, testStorage } from './storage.ts';

const namespace = `e2e-canary-${Date.now().toString(36)}`;
const REQUESTS = 10_000;
const GRPC_CALLS = 2_000;
const podMetric = (pod: string, name: string, match?: RegExp) => podMetricIn(namespace, pod, name, match);
const readyPods = (instance: string) => readyPodsIn(namespace, instance);

describe('a canary on the local cluster', () => {
  let storage: TestStorage | undefined;
  let v1 = '';
  let v2 = '';

  beforeAll(async () => {
    storage = await testStorage(namespace, 'k2k-e2e-canary');
    const { bucket, store } = storage;
    v1 = await writeTabularArtifact(store, `s3://${bucket}/models`, 'iris', '1');
    v2 = await writeTabularArtifact(store, `s3://${bucket}/models`, 'iris', '2');
    await apply([
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris', namespace },
        spec: {
          model: { artifactURI: v1 },
          storage: storage.spec,
          replicas: { min: 2, max: 2 },
          resources: { cpu: '100m', memory: '512Mi' },
          // One long step: the split is measured while the rollout holds at 10%.
          canary: { steps: [10, 50], intervalSeconds: 3600, replicas: 1 },
        },
      },
    ]);
  });

  afterAll(() => storage?.stop());

  it('sends 10% ± 1.5% of 10,000 keep-alive requests and 10% of 2,000 gRPC calls on one connection through the Service to the canary', async () => {
    const describe = 'modeldeployment,deployment,configmap,pods';
    await waitForModelDeployment(namespace, 'iris', {
      what: 'two stable pods serving v1',
      until: async (md) => md.status?.artifact?.uri === v1 && (await readyPods('iris')).length === 2,
      timeoutMs: 300_000,
      describe,
    });
    await setArtifact(namespace, 'iris', v2);
    await waitForModelDeployment(namespace, 'iris', {
      what: 'the canary Progressing at 10%',
      until: (md) => md.status?.canary?.phase === 'Progressing',
      timeoutMs: 300_000,
      describe,
    });
    try {
      // The weight reaches each stable pod through its mounted ConfigMap (the kubelet's sync).
      const stable = await readyPods('iris');
      await eventually(
        async () => {
          for (const pod of stable)
            if ((await podMetric(pod, 'k2k_canary_weight_percent')) !== 10) return false;
          return true;
        },
        { what: 'every stable pod to apply weight 10', ...clusterPace, timeoutMs: 180_000 },
      );
    } catch (err) {
      await failWithClusterState(err, namespace, describe);
    }
    const [canary] = await readyPods('iris-canary');
    const inference = /endpoint="predict"/;
    const before = await podMetric(canary!, 'k2k_requests_total', inference);
    const forwardedBefore = await podsMetric(
      namespace,
      await readyPods('iris'),
      'k2k_canary_forwarded_total',
    );

    const body = JSON.stringify({ instances: tabularRows(1, 3) });
    const out = await runInPod(
      namespace,
      'client',
      `const http = require('node:http');
       const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
       const body = ${JSON.stringify(body)};
       let sent = 0, failed = 0;
       const one = () => new Promise((resolve) => {
         const req = http.request('http://iris.${namespace}.svc/v1/models/iris:predict',
           { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
           (res) => { if (res.statusCode !== 200) failed++; res.resume(); res.on('end', resolve); });
         req.on('error', () => { failed++; resolve(); });
         req.end(body);
       });
       (async () => {
         await Promise.all(Array.from({ length: 8 }, async () => { while (sent < ${REQUESTS}) { sent++; await one(); } }));
         console.log(JSON.stringify({ sent, failed }));
       })();`,
    );
    const { sent, failed } = JSON.parse(out.trim().split('\n').at(-1)!) as { sent: number; failed: number };
    const atCanary = (await podMetric(canary!, 'k2k_requests_total', inference)) - before;
    const forwarded =
      (await podsMetric(namespace, await readyPods('iris'), 'k2k_canary_forwarded_total')) - forwardedBefore;
    process.stdout.write(
      `canary share through kube-proxy: ${atCanary} of ${sent} (${((100 * atCanary) / sent).toFixed(2)}%)\n`,
    );
    expect(failed).toBe(0);
    expect(sent).toBe(REQUESTS);
    expect(Math.abs(atCanary / sent - 0.1)).toBeLessThanOrEqual(0.015);
    // Exact to one request per stable pod: each pod's counter sends floor(n·w) or one more.
    expect(Math.abs(atCanary - REQUESTS / 10)).toBeLessThanOrEqual(2);
    expect(forwarded).toBe(atCanary);

    // gRPC from here to the Service's ClusterIP, one channel: its own counter in each stable pod.
    const grpcInference = /transport="grpc".*endpoint="predict"|endpoint="predict".*transport="grpc"/;
    const grpcForwarded = /transport="grpc"/;
    const grpcBefore = await podMetric(canary!, 'k2k_requests_total', grpcInference);
    const grpcForwardedBefore = await podsMetric(
      namespace,
      await readyPods('iris'),
      'k2k_canary_forwarded_total',
      grpcForwarded,
    );
    const ip = (
      await kubectl(['get', 'service', '-n', namespace, 'iris', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const grpc = grpcClients(`${ip}:8500`);
    let grpcFailed = 0;
    try {
      const [row] = tabularRows(1, 3);
      for (let i = 0; i < GRPC_CALLS; i += 16) {
        await Promise.all(
          Array.from({ length: 16 }, () =>
            call(grpc.prediction.Predict.bind(grpc.prediction), {
              model_spec: { name: 'iris' },
              inputs: {
                input: {
                  dtype: 'DT_FLOAT',
                  tensor_shape: { dim: [{ size: 1 }, { size: 4 }] },
                  float_val: row,
                },
              },
            }).catch(() => {
              grpcFailed++;
            }),
          ),
        );
      }
    } finally {
      grpc.close();
    }
    const grpcAtCanary = (await podMetric(canary!, 'k2k_requests_total', grpcInference)) - grpcBefore;
    const grpcForwardedNow =
      (await podsMetric(namespace, await readyPods('iris'), 'k2k_canary_forwarded_total', grpcForwarded)) -
      grpcForwardedBefore;
    process.stdout.write(`gRPC canary share through kube-proxy: ${grpcAtCanary} of ${GRPC_CALLS}\n`);
    expect(grpcFailed).toBe(0);
    // Exact to one call per stable pod (one connection reaches one of them: exact to one).
    expect(Math.abs(grpcAtCanary - GRPC_CALLS / 10)).toBeLessThanOrEqual(2);
    expect(grpcForwardedNow).toBe(grpcAtCanary);
  }, 900_000);
});
