// Where a server's CPU went, from a `node --cpu-prof` profile (ab.ts --prof=dir): the functions with
// the most self time, and the inclusive time of those matching --focus (a regular expression on
// "function file"), each as a share of all samples, idle excluded. --from=<regex> starts counting at
// the first sample with a matching frame on its stack (e.g. the first request), so the server's
// start-up (module loading, the backend choice) does not drown the serving path.
//
//   npx tsx bench/server/profile-summary.ts <file.cpuprofile> [--top=40] [--focus=grpc|batcher] [--from=handler]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top=40] [--focus=regex]');
const arg = (name: string) => process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1];
const TOP = Number(arg('top') ?? '40');
const focus = arg('focus');
const from = arg('from');

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '~/').replace(/^file:\/\/\/work\/[^/]+\//, '')}:${n.callFrame.lineNumber + 1}`;

// Time per sample (µs): each sample's delta is the time until it.
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
const stack = (id: number) => {
  const out: Node[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) out.push(byId.get(at)!);
  return out;
};
let started = from === undefined;
profile.samples.forEach((id, i) => {
  const n = byId.get(id)!;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  if (!started) started = stack(id).some((f) => new RegExp(from!).test(label(f)));
  if (!started || n.callFrame.functionName === '(idle)') return;
  busy += dt;
  self.set(label(n), (self.get(label(n)) ?? 0) + dt);
  const seen = new Set<string>();
  for (const f of stack(id)) {
    const l = label(f);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
});
const pct = (us: number) => `${((100 * us) / busy).toFixed(1)}%`;
console.log(`busy ${(busy / 1e6).toFixed(2)} s`);
console.log('self time:');
for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`  ${pct(us).padStart(6)}  ${l}`);
if (focus) {
  const re = new RegExp(focus);
  console.log(`inclusive time of /${focus}/:`);
  for (const [l, us] of [...inclusive]
    .filter(([l]) => re.test(l))
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP))
    console.log(`  ${pct(us).padStart(6)}  ${l}`);
}
