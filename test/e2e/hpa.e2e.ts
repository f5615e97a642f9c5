// Resource metrics end to end: kubelet -> metrics-server -> the aggregated metrics API -> the
// HorizontalPodAutoscaler in kube-controller-manager, which scales a CPU-bound Deployment out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../harness/eventually.ts';
import { apply, baseImage, clusterPace, kubectl, kubectlJson } from './kube.ts';

const namespace = `e2e-hpa-${Date.now().toString(36)}`;

interface Hpa {
  status?: {
    desiredReplicas?: number;
    currentMetrics?: Array<{ resource?: { current?: { averageUtilization?: number } } }>;
  };
}

describe('a HorizontalPodAutoscaler on CPU', () => {
  beforeAll(async () => {
    await kubectl(['create', 'namespace', namespace]);
    await apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'burn', namespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'burn' } },
          template: {
            metadata: { labels: { app: 'burn' } },
            spec: {
              containers: [
                {
                  name: 'burn',
                  image: baseImage,
                  command: ['node', '-e', 'for (;;) {}'],
                  // The limit keeps the busy loop from taking a whole core of a shared machine;
                  // it still uses twice its request, far above the 50% target.
                  resources: { requests: { cpu: '50m' }, limits: { cpu: '100m' } },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'burn', namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' },
          minReplicas: 1,
          maxReplicas: 2,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
        },
      },
    ]);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  });

  it('reads the pods’ CPU usage and scales the Deployment out', async () => {
    const utilization = await eventually(
      async () => {
        const hpa = await kubectlJson<Hpa>(['get', 'hpa', '-n', namespace, 'burn']);
        return hpa.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization;
      },
      { what: 'the HPA to read CPU utilization from the metrics API', ...clusterPace, timeoutMs: 240_000 },
    );
    expect(utilization).toBeGreaterThan(50);
    const replicas = await eventually(
      async () => {
        const hpa = await kubectlJson<Hpa>(['get', 'hpa', '-n', namespace, 'burn']);
        return (hpa.status?.desiredReplicas ?? 0) >= 2 ? hpa.status?.desiredReplicas : undefined;
      },
      { what: 'the Deployment to scale to 2 replicas', ...clusterPace, timeoutMs: 240_000 },
    );
    expect(replicas).toBe(2);
  });
});
