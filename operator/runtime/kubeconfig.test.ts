import { mkdtempSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig.ts';

/** Writes a kubeconfig with one context `c` for `cluster` and `user`, plus any `files`, in a fresh dir. */
function kubeconfig(cluster: object, user: object, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'k2k-kubeconfig-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function optionsOf(file: string) {
  const kc = await loadKubeConfig(file);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return { server: kc.getCurrentCluster()?.server, opts };
}

describe('loadKubeConfig', () => {
  it.each([
    {
      name: 'reads a token and an inline CA',
      file: () =>
        kubeconfig({ server: 'https://a:6443', 'certificate-authority-data': b64('CA') }, { token: 't' }),
      expected: { ca: Buffer.from('CA'), headers: { Authorization: 'Bearer t' } },
    },
    {
      name: 'reads a client certificate and key from files next to the kubeconfig',
      file: () =>
        kubeconfig(
          { server: 'https://a:6443', 'certificate-authority': 'ca.crt' },
          { 'client-certificate': 'me.crt', 'client-key': 'me.key' },
          { 'ca.crt': 'CA', 'me.crt': 'CERT', 'me.key': 'KEY' },
        ),
      expected: { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') },
    },
    {
      name: 'reads a token file (a ServiceAccount token the kubelet rotates)',
      file: () => kubeconfig({ server: 'https://a:6443' }, { tokenFile: 'token' }, { token: 'from-file\n' }),
      expected: { headers: { Authorization: 'Bearer from-file' } },
    },
    {
      name: 'turns off verification only when the kubeconfig says insecure-skip-tls-verify',
      file: () => kubeconfig({ server: 'https://a:6443', 'insecure-skip-tls-verify': true }, { token: 't' }),
      expected: { rejectUnauthorized: false, headers: { Authorization: 'Bearer t' } },
    },
  ])('$name', async ({ file, expected }) => {
    const { server, opts } = await optionsOf(file());
    expect(server).toBe('https://a:6443');
    expect(opts).toEqual(expected);
  });

  it('hands a user whose credentials come from a command to client-node', async () => {
    const kc = await loadKubeConfig(
      kubeconfig(
        { server: 'https://a:6443' },
        { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } },
      ),
    );
    expect(kc.constructor.name).toBe('KubeConfig');
    expect(kc.getCurrentCluster()?.server).toBe('https://a:6443');
  });

  it('names what is missing when the current context points nowhere', async () => {
    const file = kubeconfig({ server: 'https://a:6443' }, { token: 't' });
    writeFileSync(file, yaml.dump({ 'current-context': 'gone', contexts: [] }));
    await expect(loadKubeConfig(file)).rejects.toThrow(/no context named "gone"/);
  });
});
