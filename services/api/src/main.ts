// Process entry: read the config, start, stop gracefully on SIGTERM/SIGINT within 10 s.
import { runMain } from '@koa-entra/service-kit';
import { loadConfig } from './config.ts';
import { startApi } from './server.ts';

await runMain({
  service: 'api',
  name: 'api',
  loadConfig: () => loadConfig(process.env),
  start: startApi,
  logger: (running) => running.api.logger,
  close: (running) => running.close(),
});
