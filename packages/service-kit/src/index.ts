// @koa-entra/service-kit: what every Koa service here needs, written once.
export {
  ConfigError,
  LOG_LEVELS,
  envBool,
  envEnum,
  envGuid,
  envInt,
  envList,
  envLogLevel,
  envPort,
  envString,
  envUrl,
  readEnv,
  type ConfigProblem,
  type EnvReader,
  type LogLevel,
  type ReadEnvOptions,
} from './env.ts';
export {
  BatchedDestination,
  REDACTED,
  REDACT_PATHS,
  createLogger,
  serializeError,
  stdoutDestination,
  type LoggerOptions,
  type SerializedError,
} from './logger.ts';
export {
  HTTP_DURATION_BUCKETS,
  HttpRequestDuration,
  ServiceMetrics,
  UNMATCHED_ROUTE,
  type MetricsOptions,
} from './metrics.ts';
export {
  PROBE_PATHS,
  SAFE_REQUEST_ID,
  requestContext,
  type AccessLogFields,
  type RequestContextOptions,
} from './request-context.ts';
export {
  LIVENESS_BODY,
  checkReadiness,
  healthRoutes,
  readinessBody,
  type CheckResult,
  type HealthRoutesOptions,
  type ReadinessCheck,
  type ReadinessReport,
} from './health.ts';
export {
  runMain,
  serve,
  type MainOptions,
  type RunningServer,
  type ServeOptions,
} from './lifecycle.ts';
export { constantTimeEqual } from './compare.ts';
export { TokenBuckets, type TokenBucketsOptions } from './rate-limit.ts';
