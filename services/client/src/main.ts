// Process entry point: read the configuration (exit 1 naming the bad variable), start, stop
// gracefully on SIGTERM/SIGINT (in-flight requests finish; the process exits within 10 s).
import { ConfigError, loadConfig } from './config.ts';
import { startWebApp } from './server.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: 'fatal', service: 'client', msg: error.message }));
    process.exit(1);
  }
  throw error;
}

let running;
try {
  running = await startWebApp(config);
} catch (error) {
  console.error(
    JSON.stringify({
      level: 'fatal',
      service: 'client',
      msg: `cannot start: ${(error as Error).message}`,
    }),
  );
  process.exit(1);
}

const { webApp, close } = running;
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    webApp.log.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => process.exit(1), 9500);
    hardStop.unref();
    close().then(
      () => {
        webApp.log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        webApp.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
