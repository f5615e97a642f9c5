// End-to-end tests against a real single-node cluster (hack/cluster/cli.ts node-up): root only,
// changes the machine's network (a bridge, iptables rules) for the duration. The second stage of
// `npm test` (hack/test.sh, after `hack/setup.sh --cluster` built the node and the images); alone:
// npx vitest run -c vitest.e2e.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    globalSetup: ['test/e2e/global-setup.ts'],
    pool: 'forks',
    // One node per machine: files share it and must not compete for its two cores.
    fileParallelism: false,
  },
});
