// The model server's entry point: configuration, listen, and graceful shutdown on SIGTERM/SIGINT
// (report not ready, stop accepting, let in-flight requests finish, exit).
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

async function main(): Promise<void> {
  let settings: ReturnType<typeof loadConfig>;
  try {
    settings = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`k2k-model-server: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await buildApp({ settings, logger: { level: settings.logLevel } });

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
      process.exit(1);
    }, delayMs + timeoutMs);
    timeout.unref();
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    try {
      await app.close(); // stops accepting, waits for in-flight requests, then onClose hooks
      app.log.info('drained; exiting');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error while closing');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: settings.host, port: settings.port });
}

main().catch((err) => {
  process.stderr.write(
    `k2k-model-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
