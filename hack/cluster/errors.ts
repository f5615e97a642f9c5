// Error codes of the control-plane harness. Callers branch on `code`, people read `message`.
export const ControlPlaneErrorCode = {
  BuildFailed: 'BUILD_FAILED',
  BinaryMissing: 'BINARY_MISSING',
  OpensslFailed: 'OPENSSL_FAILED',
  ComponentExited: 'COMPONENT_EXITED',
  HealthTimeout: 'HEALTH_TIMEOUT',
  TokenRequestFailed: 'TOKEN_REQUEST_FAILED',
  BadKubeconfig: 'BAD_KUBECONFIG',
} as const;
export type ControlPlaneErrorCode = (typeof ControlPlaneErrorCode)[keyof typeof ControlPlaneErrorCode];

export class ControlPlaneError extends Error {
  override readonly name = 'ControlPlaneError';
  constructor(
    readonly code: ControlPlaneErrorCode,
    message: string,
  ) {
    super(message);
  }
}
