// The model server's entry point: configuration, listen, and graceful shutdown on SIGTERM/SIGINT
// (report not ready, stop accepting, let in-flight requests finish, exit). A model that cannot be
// loaded ends the process with a coded termination message (api/model-load.ts).

import { writeFileSync } from 'node:fs';
import { ServerExitCode } from '../api/index.ts';
import { encodeTermination } from '../api/termination.ts';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import type { LoadFailure } from './model/load-failure.ts';

async function main(): Promise<void> {
  let settings: ReturnType<typeof loadConfig>;
  try {
    settings = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`k2k-model-server: ${err.message}\n`);
      process.exit(ServerExitCode.InvalidConfig);
    }
    throw err;
  }
  const onLoadFailure = (failure: LoadFailure) => {
    // Kubernetes copies the file into the container's lastState.terminated.message, where the
    // operator reads it; the kubelet's restart (with its back-off) is the next attempt.
    try {
      writeFileSync(
        settings.terminationLog,
        encodeTermination({ error: { code: failure.code, message: failure.message } }),
      );
    } catch {
      // Outside a pod the path is usually not writable; the log line below says the same.
    }
    app.log.fatal({ reason: failure.code, error: failure.message }, 'giving up loading the model; exiting');
    process.exit(failure.permanent ? ServerExitCode.ModelUnusable : ServerExitCode.ModelUnavailable);
  };
  const app = await buildApp({ settings, logger: { level: settings.logLevel }, onLoadFailure });

  // Never crash on a stray rejection, never hide one either.
  process.on('unhandledRejection', (reason) => app.log.error({ err: reason }, 'unhandled promise rejection'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: not ready, draining in-flight requests');
    app.models.beginShutdown();
    const delayMs = settings.shutdownDelaySeconds * 1000;
    const timeoutMs = settings.shutdownTimeoutSeconds * 1000;
    const timeout = setTimeout(() => {
      app.log.error({ timeoutMs }, 'drain timed out; exiting');
      process.exit(ServerExitCode.Failure);
    }, delayMs + timeoutMs);
    timeout.unref();
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    try {
      await app.close(); // stops accepting, waits for in-flight requests, then onClose hooks
      app.log.info('drained; exiting');
      process.exit(ServerExitCode.Success);
    } catch (err) {
      app.log.error({ err }, 'error while closing');
      process.exit(ServerExitCode.Failure);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: settings.host, port: settings.port });
  await app.admin.listen({ host: settings.admin.host, port: settings.admin.port });
  const grpcPort = await app.grpc.listen(settings.host, settings.grpcPort);
  app.log.info(`gRPC listening at ${settings.host}:${grpcPort}`);
}

main().catch((err) => {
  process.stderr.write(
    `k2k-model-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
