import { describe, expect, it } from 'vitest';
import { parseTraffic } from './traffic.ts';

describe('the traffic file', () => {
  it.each([
    [
      'names both of the canary’s addresses',
      { canaryURL: 'http://iris-canary.ml.svc:80', canaryGrpcAddress: 'iris-canary.ml.svc:8500', weight: 10 },
      { canaryURL: 'http://iris-canary.ml.svc:80', canaryGrpcAddress: 'iris-canary.ml.svc:8500', weight: 10 },
    ],
    [
      'splits REST only when it has no gRPC address (written before gRPC was split)',
      { canaryURL: 'http://127.0.0.1:8080', weight: 10 },
      { canaryURL: 'http://127.0.0.1:8080', weight: 10 },
    ],
    [
      'takes an IPv6 gRPC address in brackets',
      { canaryURL: 'http://[::1]:8080', canaryGrpcAddress: '[::1]:8500', weight: 5 },
      { canaryURL: 'http://[::1]:8080', canaryGrpcAddress: '[::1]:8500', weight: 5 },
    ],
  ])('%s', (_name, file, want) => {
    expect(parseTraffic(JSON.stringify(file))).toEqual(want);
  });

  it.each([
    [
      'a gRPC address with a scheme',
      { canaryURL: 'http://c:80', canaryGrpcAddress: 'http://c:8500', weight: 10 },
      /canaryGrpcAddress must be host:port/,
    ],
    [
      'a gRPC address without a port',
      { canaryURL: 'http://c:80', canaryGrpcAddress: 'c', weight: 10 },
      /canaryGrpcAddress must be host:port/,
    ],
    ['a weight over 100', { canaryURL: 'http://c:80', weight: 101 }, /weight must be a number from 0 to 100/],
    [
      'a canaryURL that is not http://',
      { canaryURL: 'c:80', weight: 10 },
      /canaryURL must be an http:\/\/ URL/,
    ],
  ])('refuses %s, naming the field', (_name, file, message) => {
    const got = parseTraffic(JSON.stringify(file));
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toMatch(message);
  });
});
