// The web app as a package (private: for this repository's tests and tools): its config loader
// and how to build or start it. The process entry point is main.ts.
export { ConfigError, loadConfig, type WebAppConfig } from './config.ts';
export {
  createWebApp,
  startWebApp,
  type RunningWebApp,
  type WebApp,
  type WebAppOptions,
} from './server.ts';
