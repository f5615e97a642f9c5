// The local cluster end to end: a real kubelet runs real pods from locally built images, kube-proxy
// routes Service traffic, and the node keeps pod traffic on this machine.
import { execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { network } from '../../hack/cluster/node-config.ts';
import { guardChain } from '../../hack/cluster/node-host.ts';
import { eventually } from '../harness/eventually.ts';
import { apply, baseImage, clusterPace, kubectl, kubectlJson, runInPod } from './kube.ts';

const namespace = `e2e-cluster-${Date.now().toString(36)}`;

/** A tiny HTTP server in the base image: answers with its pod name, logs each request. */
const echoServer = `
require('http').createServer((req, res) => {
  console.log('request ' + req.url);
  res.end('hello from ' + require('os').hostname());
}).listen(8080, () => console.log('listening'));`;

interface Node {
  status: {
    capacity: Record<string, string>;
    conditions: Array<{ type: string; status: string }>;
    addresses: Array<{ type: string; address: string }>;
  };
}

function guardDrops(): Promise<number> {
  return new Promise((res, rej) => {
    execFile('iptables', ['-w', '-nvxL', guardChain], (err, stdout) => {
      if (err) return rej(err);
      // "pkts bytes target prot opt in out source destination": the rule dropping pod-sourced traffic.
      const line = stdout
        .split('\n')
        .find((l) => /\sDROP\s/.test(l) && l.includes(network.podCidr) && l.includes('0.0.0.0/0'));
      if (!line) return rej(new Error(`no pod DROP rule in ${guardChain}:\n${stdout}`));
      res(Number(line.trim().split(/\s+/)[0]));
    });
  });
}

const run = (cmd: string, args: string[]) =>
  new Promise<string>((res, rej) =>
    execFile(cmd, args, (err, stdout, stderr) =>
      err ? rej(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    ),
  );

/**
 * A test host outside the pod network: namespace k2k-e2e-outside holding 10.250.0.2/30, joined to
 * the host (10.250.0.1/30) by a veth pair, with a TCP listener that counts connections.
 */
async function outsideHost() {
  const ns = 'k2k-e2e-outside';
  const address = '10.250.0.2';
  const port = 9;
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', 'k2k-out-h', 'type', 'veth', 'peer', 'name', 'k2k-out-n', 'netns', ns]);
  await run('ip', ['addr', 'add', '10.250.0.1/30', 'dev', 'k2k-out-h']);
  await run('ip', ['link', 'set', 'k2k-out-h', 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `${address}/30`, 'dev', 'k2k-out-n']);
  await run('ip', ['-n', ns, 'link', 'set', 'k2k-out-n', 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const listener = spawn('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    '-e',
    `let n = 0; require('net').createServer((c) => { n++; console.log('connections ' + n); c.end(); }).listen(${port}, '${address}', () => console.log('listening'));`,
  ]);
  let output = '';
  listener.stdout.on('data', (d) => {
    output += d;
  });
  await eventually(async () => output.includes('listening') || undefined, {
    what: 'the outside listener',
    ...clusterPace,
  });
  return {
    address,
    port,
    connections: () => Number(/connections (\d+)\s*$/.exec(output)?.[1] ?? 0),
    remove: async () => {
      listener.kill();
      await run('ip', ['netns', 'del', ns]); // takes the veth pair with it
    },
  };
}

describe('the local single-node cluster', () => {
  let serviceIp = '';

  beforeAll(async () => {
    await kubectl(['create', 'namespace', namespace]);
    await apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'echo', namespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'echo' } },
          template: {
            metadata: { labels: { app: 'echo' } },
            spec: {
              containers: [
                {
                  name: 'echo',
                  image: baseImage,
                  command: ['node', '-e', echoServer],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'echo', namespace },
        spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ]);
    await kubectl(['rollout', 'status', '-n', namespace, 'deployment/echo', '--timeout=180s']);
    serviceIp = (
      await kubectl(['get', 'service', '-n', namespace, 'echo', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  });

  it('registers a Ready node at the bridge address that advertises one nvidia.com/gpu', async () => {
    const node = await kubectlJson<Node>(['get', 'node', network.nodeName]);
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: network.nodeIp });
    expect(node.status.capacity['nvidia.com/gpu']).toBe('1');
  });

  it('answers on the Service ClusterIP from the host', async () => {
    const body = await eventually(
      async () => {
        const resp = await fetch(`http://${serviceIp}/`, { signal: AbortSignal.timeout(3000) });
        return resp.ok ? resp.text() : undefined;
      },
      { what: 'the Service to answer from the host', ...clusterPace },
    );
    expect(body).toMatch(/^hello from echo-/);
  });

  it('answers on the Service ClusterIP and its DNS name from another pod', async () => {
    const out = await runInPod(
      namespace,
      'client',
      `(async () => {
        for (const url of ['http://${serviceIp}/', 'http://echo.${namespace}.svc.${network.clusterDomain}/']) {
          const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
          console.log(url + ' ' + r.status + ' ' + (await r.text()));
        }
      })().catch((e) => { console.log('error ' + (e.cause?.code ?? e.message)); process.exit(1); });`,
    );
    expect(out).toMatch(new RegExp(`http://${serviceIp}/ 200 hello from echo-`));
    expect(out).toMatch(/svc\.cluster\.local\/ 200 hello from echo-/);
  });

  it('streams a pod’s logs and runs a command in it through the kubelet', async () => {
    const logs = await kubectl(['logs', '-n', namespace, 'deployment/echo']);
    expect(logs).toContain('listening');
    const out = await kubectl([
      'exec',
      '-n',
      namespace,
      'deployment/echo',
      '--',
      'node',
      '-p',
      'process.version',
    ]);
    expect(out.trim()).toMatch(/^v20\.\d+\.\d+$/);
  });

  it('drops pod traffic to an address off this machine before it leaves', async () => {
    // The "outside" is a test host of our own: a network namespace with a listener, reached from
    // the host over a veth pair. Were the guard broken, the pod's packet would reach this
    // listener, never a machine we do not own.
    const host = await outsideHost();
    try {
      const before = await guardDrops();
      const out = await runInPod(
        namespace,
        'escape',
        `const s = require('net').connect({ host: '${host.address}', port: ${host.port} });
        s.setTimeout(3000, () => { console.log('blocked: timeout'); process.exit(0); });
        s.on('connect', () => { console.log('connected'); process.exit(0); });
        s.on('error', (e) => { console.log('blocked: ' + e.code); process.exit(0); });`,
      );
      expect(out).toMatch(/^blocked/);
      expect(await guardDrops()).toBeGreaterThan(before);
      expect(host.connections()).toBe(0);
    } finally {
      await host.remove();
    }
  });
});
