// Two projects, one run: `npx vitest run` (the first stage of `npm test`) runs both, each file once.
//   unit         unit tests next to the code they test; no services, no global setup:
//                `npm run test:unit`, or `npx vitest run --project unit`
//   integration  test/integration/ and every `*.integration.test.ts` next to the code: they run
//                against the real services the global setup starts (kube-apiserver + etcd +
//                controller-manager + scheduler on loopback, the S3 server)
// A test that needs one of those services is an integration test: name it `*.integration.test.ts`.
import { configDefaults, defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts', '**/*.integration.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{api,dashboards,hack,lib,operator,server,trainer}/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...INTEGRATION],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: [...configDefaults.exclude],
          // Shared real services are started once per run; only when an integration file runs.
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
    ],
  },
});
