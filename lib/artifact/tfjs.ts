// tf.io handlers that put a LayersModel into an artifact and take it back out, in the standard
// model.json + weights.bin layout (what tfjs's file:// and http:// handlers use), so an artifact is
// also loadable by any TensorFlow.js tool. Types only from tfjs: importing this module does not
// load TensorFlow.js.
import type { io } from '@tensorflow/tfjs';
import { FILES } from '../../api/artifact.ts';
import { ArtifactError } from './errors.ts';
import type { LoadedArtifact } from './reader.ts';
import type { ArtifactWriter } from './writer.ts';

function concat(parts: readonly (ArrayBuffer | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p instanceof Uint8Array ? p : new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out;
}

function weightBytes(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return concat(Array.isArray(data) ? data : [data]);
}

/** `await model.save(saveModelHandler(writer))` adds model.json and weights.bin to the writer. */
export function saveModelHandler(writer: ArtifactWriter): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
        throw new ArtifactError(
          'Invalid',
          writer.uri,
          'only JSON model topologies (LayersModel) can be saved',
          {
            file: FILES.model,
          },
        );
      }
      const weights = weightBytes(artifacts.weightData);
      const modelJSON: io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'k2k',
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [FILES.weights], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer) modelJSON.modelInitializer = artifacts.modelInitializer;
      // Weights first: model.json refers to them.
      await writer.add(FILES.weights, weights);
      const json = JSON.stringify(modelJSON);
      await writer.add(FILES.model, json);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/** `await tf.loadLayersModel(loadModelHandler(artifact))` builds the model from verified bytes. */
export function loadModelHandler(artifact: LoadedArtifact): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const bytes = artifact.files.get(FILES.model);
      if (!bytes)
        throw new ArtifactError('Invalid', artifact.uri, 'is not in the artifact', { file: FILES.model });
      const modelJSON = JSON.parse(bytes.toString('utf8')) as io.ModelJSON;
      const specs: io.WeightsManifestEntry[] = [];
      const shards: Uint8Array[] = [];
      // tf.io concatenates the groups' shards in manifest order; the specs index into that buffer.
      for (const group of modelJSON.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const shard = artifact.files.get(p);
          if (!shard)
            throw new ArtifactError(
              'Invalid',
              artifact.uri,
              `references ${p}, which is not in the artifact`,
              { file: FILES.model },
            );
          shards.push(shard);
        }
      }
      const weightData = concat(shards);
      const out: io.ModelArtifacts = {
        modelTopology: modelJSON.modelTopology,
        weightSpecs: specs,
        weightData: weightData.buffer as ArrayBuffer,
      };
      for (const k of [
        'format',
        'generatedBy',
        'convertedBy',
        'trainingConfig',
        'signature',
        'userDefinedMetadata',
        'modelInitializer',
      ] as const) {
        if (modelJSON[k] !== undefined) (out as Record<string, unknown>)[k] = modelJSON[k];
      }
      return out;
    },
  };
}
