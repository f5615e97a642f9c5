// One TensorFlow session running a graph k2k wrote, through tfjs-node's SavedModel binding:
// TF_LoadSessionFromSavedModel once, then one TF_SessionRun per call, inputs and outputs tfjs
// tensors. The SavedModel lives in a private directory under the OS temp dir (the trainer pod's
// /tmp is an emptyDir, its root filesystem read-only) only while TensorFlow loads it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { NodeBackend, TensorMetadata } from '../native-binding.ts';
import { encodeSavedModel, type NodeDef } from './proto.ts';

const TAG = 'train';

interface SavedModelBinding {
  loadSavedModel(exportDir: string, tagsCsv: string): number;
  deleteSavedModel(id: number): void;
  runSavedModel(
    id: number,
    inputIds: number[],
    inputNamesCsv: string,
    outputNamesCsv: string,
  ): TensorMetadata[];
}

export class GraphSession {
  private id: number | undefined;
  private readonly inputNames: string;
  private readonly outputNames: string;

  constructor(
    private readonly backend: NodeBackend,
    nodes: NodeDef[],
    inputs: string[],
    outputs: string[],
  ) {
    const binding = this.binding();
    const dir = mkdtempSync(path.join(tmpdir(), 'k2k-graph-'));
    try {
      writeFileSync(path.join(dir, 'saved_model.pb'), encodeSavedModel(nodes, [TAG]));
      this.id = binding.loadSavedModel(dir, TAG);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    this.inputNames = inputs.join(',');
    this.outputNames = outputs.join(',');
  }

  /** One TF_SessionRun: `inputs` in the order the session was built with, outputs likewise. */
  run(inputs: tf.Tensor[]): tf.Tensor[] {
    if (this.id === undefined) throw new Error('the graph session is disposed');
    const ids = this.backend.getInputTensorIds(inputs);
    return this.binding()
      .runSavedModel(this.id, ids, this.inputNames, this.outputNames)
      .map((m) => this.backend.createOutputTensor(m));
  }

  dispose(): void {
    if (this.id === undefined) return;
    this.binding().deleteSavedModel(this.id);
    this.id = undefined;
  }

  private binding(): SavedModelBinding {
    return this.backend.binding as unknown as SavedModelBinding;
  }
}
