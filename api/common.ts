// Schemas shared by the three k2k kinds: conditions, scheduling (object storage: storage.ts).
import Type, { type Static } from 'typebox';
import {
  LabelValue,
  labelKeysRule,
  ObjectName,
  QUALIFIED_NAME,
  Quantity,
  rules,
  StringEnum,
  StringMap,
} from './schema.ts';

export const GROUP = 'k2k.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * Ready reasons, shared by the kinds, for what the operator refuses to do until someone acts
 * (kstatus Stalled; the operator checks again on later passes).
 */
export const RefusalReason = {
  /** A child's name is taken by an object that this resource's controller did not create. */
  Conflict: 'Conflict',
  /** spec.image is outside the operator's allowed images (--allowed-images). */
  ImageNotAllowed: 'ImageNotAllowed',
  /** spec.serviceAccountName is outside the operator's allowed ones (--allowed-service-accounts). */
  ServiceAccountNotAllowed: 'ServiceAccountNotAllowed',
  /** The API server refused a child built from the spec (a spec that admission let through). */
  InvalidSpec: 'InvalidSpec',
} as const;

/** metav1.Condition, as Kubernetes defines it. */
export const Condition = Type.Object(
  {
    type: Type.String({
      description: 'Type of the condition, in CamelCase (for example Ready, Succeeded).',
      maxLength: 316,
    }),
    status: StringEnum(['True', 'False', 'Unknown'], {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The .metadata.generation the condition was set from.', minimum: 0 }),
    ),
    lastTransitionTime: Type.String({
      description: 'Last time the condition changed from one status to another.',
      format: 'date-time',
    }),
    reason: Type.String({
      description: 'A CamelCase, machine-readable reason for the last transition.',
      maxLength: 1024,
      minLength: 1,
    }),
    message: Type.String({ description: 'A human-readable message about the transition.', maxLength: 32768 }),
  },
  { description: 'A metav1.Condition.' },
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: 'The latest observations of the object, one per condition type.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  maxItems: 32,
});

export const SecretReference = Type.Object(
  { name: ObjectName('Name of a Secret in the same namespace.') },
  { description: 'A reference to a Secret in the same namespace.' },
);

export const Toleration = Type.Object(
  {
    key: Type.Optional(
      Type.String({
        description: 'Taint key the toleration applies to; empty matches all keys.',
        pattern: `${QUALIFIED_NAME}|^$`,
        maxLength: 316,
      }),
    ),
    operator: Type.Optional(
      StringEnum(['Exists', 'Equal'], { description: 'Exists or Equal (default Equal).' }),
    ),
    value: Type.Optional(LabelValue('Taint value the toleration matches (with operator Equal).')),
    effect: Type.Optional(
      StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], {
        description: 'Taint effect to match; empty matches all effects.',
      }),
    ),
    tolerationSeconds: Type.Optional(
      Type.Integer({
        description: 'With effect NoExecute: how long the pod stays bound after the taint appears.',
      }),
    ),
  },
  {
    description: 'A core/v1 Toleration.',
    // The rules core/v1 applies to a pod's tolerations, so that a pod the operator builds is not
    // refused later.
    ...rules(
      {
        rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
        message: 'value must be empty when operator is Exists',
        fieldPath: '.value',
      },
      {
        rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
        message: 'operator must be Exists when key is empty',
        fieldPath: '.operator',
      },
      {
        rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
        message: 'tolerationSeconds needs effect NoExecute',
        fieldPath: '.tolerationSeconds',
      },
    ),
  },
);

export const Resources = Type.Object(
  {
    gpus: Type.Integer({
      description:
        'Number of GPUs (the nvidia.com/gpu extended resource) requested and limited for the pod. 0 runs on CPU.',
      minimum: 0,
      maximum: 16,
      default: 0,
    }),
    cpu: Type.Optional(Quantity({ description: 'CPU request, for example 500m or 2.' })),
    memory: Type.Optional(Quantity({ description: 'Memory request and limit, for example 2Gi.' })),
    cpuLimit: Type.Optional(
      Quantity({ description: 'CPU limit; unset means no CPU limit (no throttling).' }),
    ),
  },
  {
    description: 'Compute resources for the pod.',
    ...rules({
      rule: '!has(self.cpu) || !has(self.cpuLimit) || !isQuantity(string(self.cpu)) || !isQuantity(string(self.cpuLimit)) || quantity(string(self.cpu)).compareTo(quantity(string(self.cpuLimit))) <= 0',
      message: 'cpu (the request) must not exceed cpuLimit',
      fieldPath: '.cpu',
    }),
  },
);
export type Resources = Static<typeof Resources>;

export const Scheduling = {
  nodeSelector: Type.Optional(
    StringMap(LabelValue('A node label value.'), {
      description: 'Node labels the pod must be scheduled on (core/v1 nodeSelector).',
      maxProperties: 64,
      ...labelKeysRule(),
    }),
  ),
  tolerations: Type.Optional(
    Type.Array(Toleration, { description: 'Tolerations for node taints.', maxItems: 32 }),
  ),
  serviceAccountName: Type.Optional(
    ObjectName(
      'ServiceAccount the pod runs as. Default: one the operator creates with only the rights the pod needs.',
    ),
  ),
};
