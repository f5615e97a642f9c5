// What TensorFlow Serving's REST and gRPC APIs answer alike: model status, the signature in the
// metadata, and the datatype names. The field and enum names are the protos' (keepCase), so the
// REST JSON and the gRPC messages are built from the same objects.
import { ServeError } from '../errors.ts';
import type { ModelHolder } from '../model/holder.ts';
import type { ServingModel } from '../model/serving-model.ts';
import type { Datatype, TensorSpec } from '../model/tensor.ts';

/** The one signature a k2k model has. */
export const SIGNATURE = 'serving_default';

/** Open Inference Protocol datatype → TensorFlow DataType. */
export const TF_DTYPES: Record<Datatype, string> = {
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  FP16: 'DT_HALF',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  BOOL: 'DT_BOOL',
  BYTES: 'DT_STRING',
};

/** TensorFlow DataType → Open Inference Protocol datatype. */
export const DATATYPE_OF_DTYPE: Readonly<Record<string, Datatype>> = Object.fromEntries(
  Object.entries(TF_DTYPES).map(([datatype, dtype]) => [dtype, datatype as Datatype]),
);

function tensorInfo(spec: TensorSpec, prefix: string) {
  return {
    dtype: TF_DTYPES[spec.datatype as Datatype] ?? 'DT_INVALID',
    tensor_shape: { dim: spec.shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    name: `${prefix}_${spec.name}:0`,
  };
}

/** The SignatureDefMap of the metadata. */
export function signatureDefMap(model: ServingModel) {
  return {
    signature_def: {
      [SIGNATURE]: {
        inputs: { [model.input.name]: tensorInfo(model.input, SIGNATURE) },
        outputs: Object.fromEntries(
          model.outputs.map((o) => [o.name, tensorInfo(o, 'StatefulPartitionedCall')]),
        ),
        method_name: 'tensorflow/serving/predict',
      },
    },
  };
}

/** GetModelStatusResponse: the loaded version (or the one loading), by state. */
export function modelStatus(holder: ModelHolder, version?: string) {
  const current = holder.current;
  if (current && holder.state !== 'failed') {
    if (version !== undefined && version !== current.version) {
      throw new ServeError(
        'VersionNotFound',
        `model "${holder.name}" has no version "${version}"; serving version ${current.version}`,
      );
    }
    const state = holder.state === 'stopping' ? ('UNLOADING' as const) : ('AVAILABLE' as const);
    return {
      model_version_status: [
        { version: current.version, state, status: { error_code: 'OK' as const, error_message: '' } },
      ],
    };
  }
  const failed = holder.state === 'failed';
  return {
    model_version_status: [
      {
        version: version ?? '0',
        state: failed ? ('END' as const) : ('LOADING' as const),
        status: failed
          ? { error_code: 'UNKNOWN' as const, error_message: holder.notReadyReason }
          : { error_code: 'OK' as const, error_message: '' },
      },
    ],
  };
}

/** signature_name must name the one signature (empty: the default). */
export function checkSignature(name: string | undefined): void {
  if (name !== undefined && name !== '' && name !== SIGNATURE) {
    throw new ServeError(
      'InvalidRequest',
      `signature_name "${name}" not found; the only signature is "${SIGNATURE}"`,
    );
  }
}
