// Test support: a pino destination that keeps the JSON lines it receives.
import { Writable } from 'node:stream';

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  /** The entries whose fields include `match`. */
  find(match: Record<string, unknown>): Record<string, unknown>[] {
    return this.entries().filter((e) => Object.entries(match).every(([k, v]) => e[k] === v));
  }
}
