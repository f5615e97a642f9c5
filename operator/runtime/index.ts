// k2k's operator runtime: informers, work queues, controllers, leader election, metrics, probes and
// server-side apply. Reusable plumbing: nothing here knows about the k2k kinds.
export {
  type ApplyChildrenOptions,
  type ApplyOptions,
  apply,
  applyChildren,
  applyStatus,
  type ChildApply,
  create,
  createOrRead,
  FIELD_MANAGER,
  fenceWrites,
  getObject,
} from './apply.ts';
export { Controller, type ControllerOptions, type ReconcileResult, type Reconciler } from './controller.ts';
export { type Availability, availabilityOf, KindDiscovery, type KindDiscoveryOptions } from './discovery.ts';
export {
  apiStatus,
  ForeignObjectError,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  RuntimeError,
  RuntimeErrorCode,
  TerminalError,
} from './errors.ts';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.ts';
export { Informer, type InformerOptions, type Lister, type ResourceRef } from './informer.ts';
export { keyOf, type ObjectKey, splitKey } from './keys.ts';
export { loadKubeConfig } from './kubeconfig.ts';
export { type LeaderCallbacks, type LeaderElectionOptions, LeaderElector } from './leader.ts';
export { createLogger, type Logger, type LoggerOptions, type LogLevel } from './logger.ts';
export { Manager, type ManagerOptions } from './manager.ts';
export { type ReconcileOutcome, RuntimeMetrics } from './metrics.ts';
export { type Priority, RateLimiter, type RateLimitOptions } from './ratelimit.ts';
export {
  allows,
  appliesServerSide,
  appliesStatus,
  blocksOwnerDeletion,
  getsWhenNameIsTaken,
  LEADER_ELECTION_PERMISSIONS,
  mergePermissions,
  type Permission,
  type PolicyRule,
  type RoleMeta,
  RUNTIME_PERMISSIONS,
  readsThroughInformers,
  roleYAML,
  VERBS,
  type Verb,
} from './rbac.ts';
export {
  discoverResource,
  type KubeConfig,
  kubeRequest,
  type RequestOptions,
  resourcePath,
  setRateLimit,
  setUserAgent,
} from './rest.ts';
export { InformerSet, type NamespaceScope, type Source, scopedRefs } from './scope.ts';
export { dropUnreadFields, type Transform } from './transform.ts';
export { APPLIED_HASH_ANNOTATION, desiredHash, upToDate, withAppliedHash } from './uptodate.ts';
export { WorkQueue, type WorkQueueOptions } from './workqueue.ts';
