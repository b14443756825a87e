// The API as a real child process (`node services/api/src/main.ts`), as it runs in development and e2e.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { apiMain, repoRoot } from './api.ts';

const SOURCE_CONDITION = '--conditions=@koa-entra/source';

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export function runApi(env: Record<string, string | undefined>): {
  child: ChildProcess;
  output: () => string;
  exit: ApiProcess['exit'];
} {
  const { NODE_OPTIONS: _omit, ...inherited } = process.env;
  // Without jest's NODE_OPTIONS, so the workspace packages' source condition is passed here.
  const child = spawn(process.execPath, ['--no-warnings', SOURCE_CONDITION, apiMain], {
    cwd: repoRoot,
    // Any free metrics port: several API processes may run at once.
    env: { METRICS_PORT: '0', ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    at: Date.now(),
  }));
  return { child, output: () => out, exit };
}

/** Starts the API and waits for its "api listening" log line. */
export async function startApiProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<ApiProcess> {
  const started = runApi(env);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = started
      .output()
      .split('\n')
      .find((l) => l.includes('"api listening"'));
    if (line) return { ...started, url: (JSON.parse(line) as { url: string }).url };
    if (started.child.exitCode !== null) throw new Error(`api exited early:\n${started.output()}`);
    if (Date.now() > deadline) {
      started.child.kill('SIGKILL');
      throw new Error(`api did not start:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
