// Container health check without shell tools: exit 0 when the service answers 200 on its
// health endpoint, 1 otherwise. Usage: node healthcheck.mjs [URL]
// Default URL: http://127.0.0.1:${PORT:-8000}/healthz.
const url = process.argv[2] ?? `http://127.0.0.1:${process.env.PORT ?? '8000'}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000), redirect: 'manual' });
  await response.body?.cancel();
  if (response.status !== 200) {
    console.error(`healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(
    `healthcheck: ${url} unreachable: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
