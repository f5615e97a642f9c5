// "k2k in its image's configuration", reproduced on this machine without the image: the
// environment and node flags the trainer container runs with, read from where they are defined
// so the row follows any change to them: the cpu stage of Dockerfile.trainer (its ENV and its
// ENTRYPOINT's node flags) and the env the operator puts on the trainer container (desiredJob),
// minus what is per job (the trainer's config, storage settings). Nothing else of the caller's
// environment is passed on, as nothing of the host's reaches a pod. The image's node and addon
// are this machine's: the image copies the same hack/build-tfjs-node.sh build (ADR 0030).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from 'typebox/value';
import { StorageEnv, TrainerEnv, type TrainingJob, TrainingJobSpec } from '../../api/index.ts';
import { desiredJob } from '../../operator/controllers/trainingjob/desired.ts';

export interface ImageConfiguration {
  env: Record<string, string>;
  nodeFlags: string[];
}

const PER_JOB = new Set<string>([...Object.values(TrainerEnv), ...Object.values(StorageEnv)]);

/** ENV and the ENTRYPOINT's node flags of one stage of a Dockerfile. */
export function dockerStage(dockerfile: string, stage: string): ImageConfiguration {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${stage}\\s*$`, 'i').test(l));
  if (start < 0) throw new Error(`no stage '${stage}' in the Dockerfile`);
  const end = lines.findIndex((l, i) => i > start && /^FROM\s/i.test(l));
  const env: Record<string, string> = {};
  let nodeFlags: string[] = [];
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    const envLine = /^ENV\s+(.*)$/i.exec(line);
    if (envLine) {
      for (const pair of envLine[1]!.trim().split(/\s+/)) {
        const eq = pair.indexOf('=');
        if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
      }
    }
    const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/i.exec(line);
    if (entry) {
      const argv = JSON.parse(entry[1]!) as string[];
      nodeFlags = argv.slice(1).filter((a) => a.startsWith('--'));
    }
  }
  return { env, nodeFlags };
}

/** The trainer container's env as the operator builds it for a plain TrainingJob, minus per-job values. */
export function operatorEnv(): Record<string, string> {
  const tj: TrainingJob = {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'bench', namespace: 'bench', uid: 'bench', creationTimestamp: new Date(0) },
    spec: Value.Default(TrainingJobSpec, {
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://bench/mnist/' },
      output: { uri: 's3://bench/models/' },
    }) as TrainingJob['spec'],
  };
  const container = desiredJob(tj, { cpu: 'trainer', gpu: 'trainer-gpu' }).spec!.template.spec!
    .containers[0]!;
  return Object.fromEntries(
    (container.env ?? [])
      .filter((e) => !PER_JOB.has(e.name) && e.value !== undefined)
      .map((e) => [e.name, e.value!]),
  );
}

export function imageConfiguration(repo: string): ImageConfiguration {
  const image = dockerStage(readFileSync(path.join(repo, 'Dockerfile.trainer'), 'utf8'), 'cpu');
  return { env: { ...image.env, ...operatorEnv() }, nodeFlags: image.nodeFlags };
}
