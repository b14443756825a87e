// The API as a package (private: for this repository's tests and tools): its config loader and
// how to build or start it. The process entry point is main.ts.
export { ConfigError, loadConfig, type ApiConfig, type TokenVersion } from './config.ts';
export { createApi, startApi, type Api, type ApiOptions, type RunningApi } from './server.ts';
