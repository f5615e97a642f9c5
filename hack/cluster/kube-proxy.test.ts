import { describe, expect, it } from 'vitest';
import { kubeProxySynced } from './kube-proxy.ts';

const help = [
  '# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced',
  '# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge',
];

describe('kubeProxySynced', () => {
  it.each([
    [
      'is false before the first sync (the gauge has no series yet)',
      [...help, 'kubeproxy_sync_proxy_rules_duration_seconds_count 0'],
      false,
    ],
    [
      'is true once a sync set the gauge',
      [...help, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7961385e+09'],
      true,
    ],
    [
      'is false for a zero gauge',
      [...help, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 0'],
      false,
    ],
    [
      'ignores the queued-update gauge, which is set before any sync',
      ['kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"} 1.7961385e+09'],
      false,
    ],
    ['is false for an empty answer', [''], false],
    [
      'waits for the IPv4 rules when only the IPv6 ones are synced (the guard is an IPv4 rule)',
      [...help, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"} 1.7961385e+09'],
      false,
    ],
  ])('%s', (_, lines, synced) => {
    expect(kubeProxySynced(lines.join('\n'))).toBe(synced);
  });
});
