// The control plane's PKI, made with the openssl CLI: one CA, the apiserver's serving certificate, a
// client certificate per identity, and the service-account token signing key pair.
// EC P-256 keys because they take milliseconds to generate (RSA 2048 takes ~100x longer).
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import { execFileText } from './exec.ts';

export interface CertPair {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
}

export interface Pki {
  dir: string;
  ca: CertPair;
  /** kube-apiserver's serving certificate, for 127.0.0.1, localhost and the in-cluster service names. */
  apiserver: CertPair;
  /** CN=k2k-admin, O=system:masters. */
  admin: CertPair;
  controllerManager: CertPair;
  scheduler: CertPair;
  /** What kube-apiserver presents to kubelets (logs, exec). */
  kubeletClient: CertPair;
  /** Trusted for request headers set by the aggregator: what aggregated API servers (metrics) need. */
  frontProxyCa: CertPair;
  /** What kube-apiserver presents to aggregated API servers. */
  frontProxyClient: CertPair;
  /** Signs service-account tokens (key) and verifies them (pub). */
  serviceAccount: { key: string; pub: string };
}

export interface CertRequest {
  /** File name stem inside the PKI directory. */
  name: string;
  commonName: string;
  organizations?: readonly string[];
  usage: 'client' | 'server';
  /** Subject alternative names of a serving certificate: IPs or DNS names. */
  hosts?: readonly string[];
  days?: number;
}

const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileText('openssl', args, { cwd });
  } catch (err) {
    throw new ControlPlaneError(ControlPlaneErrorCode.OpensslFailed, (err as Error).message);
  }
}

function subject(commonName: string, organizations: readonly string[] = []): string {
  const esc = (s: string) => s.replace(/[/\\]/g, '\\$&');
  return `${organizations.map((o) => `/O=${esc(o)}`).join('')}/CN=${esc(commonName)}`;
}

export async function createCa(dir: string, name: string, commonName: string): Promise<CertPair> {
  await mkdir(dir, { recursive: true });
  const ca = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-nodes',
      ...curve,
      '-keyout',
      ca.key,
      '-out',
      ca.cert,
      '-days',
      '3650',
      '-subj',
      subject(commonName),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  return ca;
}

/** Issues a certificate signed by `ca` into `dir`; usable later for node (kubelet) identities too. */
export async function issueCert(ca: CertPair, dir: string, req: CertRequest): Promise<CertPair> {
  const base = join(dir, req.name);
  const pair = { cert: `${base}.crt`, key: `${base}.key` };
  const san = (req.hosts ?? []).map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(san.length > 0 ? [`subjectAltName=${san.join(',')}`] : []),
  ];
  await writeFile(`${base}.ext`, `${ext.join('\n')}\n`);
  await openssl(
    [
      'req',
      '-new',
      '-nodes',
      ...curve,
      '-keyout',
      pair.key,
      '-out',
      `${base}.csr`,
      '-subj',
      subject(req.commonName, req.organizations),
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      // A random serial instead of -CAcreateserial: parallel issuers would race on the .srl file.
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(req.days ?? 365),
      '-out',
      pair.cert,
      '-extfile',
      `${base}.ext`,
    ],
    dir,
  );
  return pair;
}

export async function createPki(dir: string): Promise<Pki> {
  const [ca, frontProxyCa] = await Promise.all([
    createCa(dir, 'ca', 'k2k-ca'),
    createCa(dir, 'front-proxy-ca', 'k2k-front-proxy-ca'),
  ]);
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  const [apiserver, admin, controllerManager, scheduler, kubeletClient, frontProxyClient] = await Promise.all(
    [
      issueCert(ca, dir, {
        name: 'apiserver',
        commonName: 'kube-apiserver',
        usage: 'server',
        hosts: [
          '127.0.0.1',
          'localhost',
          'kubernetes',
          'kubernetes.default',
          'kubernetes.default.svc',
          'kubernetes.default.svc.cluster.local',
          '10.0.0.1',
        ],
      }),
      issueCert(ca, dir, {
        name: 'admin',
        commonName: 'k2k-admin',
        organizations: ['system:masters'],
        usage: 'client',
      }),
      issueCert(ca, dir, {
        name: 'controller-manager',
        commonName: 'system:kube-controller-manager',
        usage: 'client',
      }),
      issueCert(ca, dir, { name: 'scheduler', commonName: 'system:kube-scheduler', usage: 'client' }),
      issueCert(ca, dir, {
        name: 'kubelet-client',
        commonName: 'kube-apiserver-kubelet-client',
        organizations: ['system:masters'],
        usage: 'client',
      }),
      issueCert(frontProxyCa, dir, {
        name: 'front-proxy-client',
        commonName: 'front-proxy-client',
        usage: 'client',
      }),
      (async () => {
        await openssl(
          ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey],
          dir,
        );
        await openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub], dir);
      })(),
    ],
  );
  return {
    dir,
    ca,
    apiserver,
    admin,
    controllerManager,
    scheduler,
    kubeletClient,
    frontProxyCa,
    frontProxyClient,
    serviceAccount: { key: saKey, pub: saPub },
  };
}
