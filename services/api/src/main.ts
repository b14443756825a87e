// Process entry: read the config, start, stop gracefully on SIGTERM/SIGINT within 10 s.
import { ConfigError, loadConfig } from './config.ts';
import { startApi } from './server.ts';

const HARD_EXIT_MS = 9_500;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'fatal', service: 'api', msg: error.message }));
      process.exit(1);
    }
    throw error;
  }
  const running = await startApi(config);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    running.api.logger.info({ signal }, 'shutting down');
    // Whatever happens, the process is gone before an orchestrator's 10 s grace period ends.
    setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.api.logger.error({ err: { message: String(error) } }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(
    JSON.stringify({
      level: 'fatal',
      service: 'api',
      msg: 'api failed to start',
      error: error instanceof Error ? error.message : String(error),
    }),
  );
  process.exit(1);
});
