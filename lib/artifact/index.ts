// The k2k model artifact (docs/artifact.md): schemas, a writer that makes a version complete or
// invisible, a verifying reader, tf.io handlers for the model itself, and the binning rules of the
// drift profile.

export {
  AnomalyThreshold,
  ARTIFACT_API_VERSION,
  ARTIFACT_KIND,
  CHECKPOINTS_DIR,
  ClassificationPredictions,
  classifyModelURI,
  DATATYPES,
  DataProfile,
  EpochMetrics,
  FeatureProfile,
  FILES,
  FORMAT_VERSION,
  ImageInput,
  Manifest,
  ManifestFile,
  MetricsFile,
  Normalization,
  OptimizerStateFile,
  Preprocessing,
  RegressionPredictions,
  TabularInput,
  TensorSpec,
  TextInput,
} from '../../api/artifact.ts';
export {
  binCounts,
  binIndex,
  DEFAULT_BINS,
  decodeEdges,
  encodeEdges,
  quantileEdges,
  sortedValues,
} from './binning.ts';
export { ArtifactError, type ArtifactErrorCode, ArtifactErrorCodes, isArtifactError } from './errors.ts';
export { artifactURI } from './paths.ts';
export { type LoadedArtifact, latestVersion, readArtifact } from './reader.ts';
export { loadModelHandler, saveModelHandler } from './tfjs.ts';
export { ArtifactWriter, type ManifestMeta, sha256Hex } from './writer.ts';
