import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'api/**/*.test.ts',
      'operator/**/*.test.ts',
      'trainer/**/*.test.ts',
      'server/**/*.test.ts',
      'lib/**/*.test.ts',
      'test/**/*.test.ts',
      'hack/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Shared real services (kube-apiserver + etcd, the S3 server) are started once per run.
    globalSetup: ['test/harness/global-setup.ts'],
    pool: 'forks',
  },
});
