// Process entry point: read the configuration (exit 1 naming every bad variable), start, stop
// gracefully on SIGTERM/SIGINT (in-flight requests finish; the process exits within 10 s).
import { runMain } from '@koa-entra/service-kit';
import { loadConfig } from './config.ts';
import { startWebApp } from './server.ts';

await runMain({
  service: 'client',
  name: 'web app',
  loadConfig: () => loadConfig(process.env),
  start: startWebApp,
  logger: (running) => running.webApp.log,
  close: (running) => running.close(),
});
