// Whether a command that needs the local cluster (the e2e suite) may use the one it finds in
// ${K2K_STATE}: the machine has room for one node (one bridge, one node address, fixed ports), and
// the cluster there is usually somebody's — `npm run demo` left it running, or a developer's
// `cli.ts node-up`. docs/decisions/0009-one-local-cluster.md says why these rules.
//
//   reuse   a whole, healthy cluster: run on it and leave it as it was found
//   start   nothing running (no state, or the dead leftovers of a crash): start one, stop it after
//   refuse  something runs but not all of it is healthy: replacing it would leave its owner's pods
//           on a control plane without a node, so say what is wrong and how to repair or stop it
import { join } from 'node:path';

/** A component as inspectControlPlaneDir and inspectNodeDir report it. */
export interface InspectedComponent {
  name: string;
  /** Its process runs (undefined for checks that are not processes: node Ready, the forward guard). */
  alive?: boolean;
  healthy: boolean;
  detail: string;
}

export interface Inspected {
  components: InspectedComponent[];
}

export type ClusterPlan =
  | { action: 'reuse' }
  | { action: 'start'; leftovers: boolean }
  | { action: 'refuse'; reason: string };

/** The commands the refusal names, as a person types them from the repository's root. */
export const CLI = 'npx tsx hack/cluster/cli.ts';

const healthy = (x: Inspected | undefined) => x?.components.every((c) => c.healthy) ?? false;
const running = (x: Inspected | undefined) => x?.components.some((c) => c.alive === true) ?? false;

export function planLocalCluster(
  stateRoot: string,
  controlPlane: Inspected | undefined,
  node: Inspected | undefined,
): ClusterPlan {
  if (healthy(controlPlane) && healthy(node)) return { action: 'reuse' };
  if (!running(controlPlane) && !running(node)) {
    return { action: 'start', leftovers: controlPlane !== undefined || node !== undefined };
  }
  const problems = [
    ...describe('control plane', join(stateRoot, 'controlplane'), controlPlane),
    ...describe('node', join(stateRoot, 'node'), node),
  ];
  return {
    action: 'refuse',
    reason:
      `a local cluster runs in ${stateRoot} (npm run demo or cli.ts node-up started it), but not all of it is healthy:\n` +
      `${problems.map((p) => `  ${p}`).join('\n')}\n` +
      'The e2e suite never replaces or stops a cluster it did not start. Repair it with ' +
      `\`${CLI} node-up\` (the suite then runs on it), or stop it with \`${CLI} down\` (the suite then starts its own).`,
  };
}

function describe(what: string, dir: string, x: Inspected | undefined): string[] {
  if (!x) return [`${what}: none (${dir})`];
  const bad = x.components.filter((c) => !c.healthy);
  if (bad.length === 0) return [`${what}: healthy`];
  return bad.map((c) => `${what}: ${c.name} ${c.detail}`);
}
