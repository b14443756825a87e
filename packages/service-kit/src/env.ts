// Environment readers: each variable is read by a zod schema that takes the raw string (or
// undefined when unset); readEnv() applies them all and reports every bad or missing variable
// in one ConfigError. An empty variable counts as unset, as in most deployment tools.
import { z } from 'zod';

/** A schema reading one environment variable (input: the raw string, or undefined when unset). */
export type EnvReader<T = unknown> = z.ZodType<T, string | undefined>;

/** One bad or missing variable. `problem` never contains the variable's value (it may be a secret). */
export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** The configuration cannot be used. The message names every problem: `invalid configuration: A: ...; B: ...`. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join('; ')}`,
    );
    this.problems = problems;
  }
  /** The names of the variables at fault, in the order they were reported. */
  get variables(): string[] {
    return [...new Set(this.problems.map((p) => p.variable))];
  }
}

export interface ReadEnvOptions<T> {
  /**
   * Checks across variables, run on the values that could be read; report(variable, problem)
   * adds a problem (ignored for a variable that already has one).
   */
  check?: (values: Partial<T>, report: (variable: string, problem: string) => void) => void;
}

type Output<S extends Record<string, EnvReader>> = { [K in keyof S]: z.output<S[K]> };

/**
 * Reads the variables of `readers` from `env`. Throws one ConfigError naming every variable that
 * is missing (`is required`, plus the reader's `.describe()` text) or malformed.
 */
export function readEnv<S extends Record<string, EnvReader>>(
  readers: S,
  env: Record<string, string | undefined>,
  options: ReadEnvOptions<Output<S>> = {},
): Output<S> {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [variable, reader] of Object.entries(readers)) {
    const raw = env[variable];
    const input = raw === undefined || raw === '' ? undefined : raw;
    const result = reader.safeParse(input);
    if (result.success) {
      values[variable] = result.data;
      continue;
    }
    if (input === undefined) {
      problems.push({
        variable,
        problem: reader.description ? `is required (${reader.description})` : 'is required',
      });
      continue;
    }
    // One problem per variable: the first issue says what is wrong.
    problems.push({ variable, problem: result.error.issues[0]?.message ?? 'is not valid' });
  }
  const faulty = new Set(problems.map((p) => p.variable));
  options.check?.(values as Partial<Output<S>>, (variable, problem) => {
    if (faulty.has(variable)) return;
    faulty.add(variable);
    problems.push({ variable, problem });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Output<S>;
}

const trimmed = () => z.string().trim();

/** Any text (trimmed); `pattern` with its message restricts it. */
export function envString(options: { pattern?: RegExp; message?: string } = {}) {
  const { pattern, message = `must match ${String(pattern)}` } = options;
  const base = trimmed().min(1, 'must not be blank');
  return pattern ? base.regex(pattern, message) : base;
}

/** A whole number in [min, max] (decimal digits only: no sign, exponent or fraction). */
export function envInt(options: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  return trimmed()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** A TCP port, 0 to 65535 (0: any free port). */
export function envPort() {
  return envInt({ min: 0, max: 65535 });
}

const TRUE = new Set(['true', '1']);
const FALSE = new Set(['false', '0']);

/** `true`/`false` (any case) or `1`/`0`; anything else (yes, on, ...) is refused rather than guessed. */
export function envBool() {
  return trimmed()
    .toLowerCase()
    .refine((v) => TRUE.has(v) || FALSE.has(v), 'must be true or false')
    .transform((v) => TRUE.has(v));
}

/**
 * An absolute URL whose scheme is one of `protocols` (e.g. `['https:']`); `trimTrailingSlash`
 * drops trailing slashes (for base URLs that paths are appended to).
 */
export function envUrl(
  options: { protocols?: readonly string[]; trimTrailingSlash?: boolean } = {},
) {
  const { protocols, trimTrailingSlash = false } = options;
  const schemes = protocols?.map((p) => p.replace(/:$/, ''));
  return trimmed()
    .superRefine((v, ctx) => {
      if (!URL.canParse(v)) ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      else if (schemes && !schemes.includes(new URL(v).protocol.replace(/:$/, '')))
        ctx.addIssue({
          code: 'custom',
          message: `must be an absolute URL with scheme ${schemes.join(' or ')}`,
        });
    })
    .transform((v) => (trimTrailingSlash ? v.replace(/\/+$/, '') : v));
}

/**
 * A list: items separated by commas (`separator: 'comma-or-space'` also splits on whitespace),
 * trimmed, empty items dropped; each item read by `item` (default: any text).
 */
export function envList<T = string>(
  options: {
    item?: z.ZodType<T, string>;
    separator?: 'comma' | 'comma-or-space';
    minItems?: number;
  } = {},
) {
  const { item = z.string() as unknown as z.ZodType<T, string>, separator = 'comma' } = options;
  const { minItems = 1 } = options;
  const split = separator === 'comma' ? /,/ : /[\s,]+/;
  return z
    .string()
    .transform((v) =>
      v
        .split(split)
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(item)
        .min(
          minItems,
          minItems === 1 ? 'must name at least one item' : `must name at least ${minItems} items`,
        ),
    );
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A GUID (as Entra writes tenant and application ids), returned in lower case. */
export function envGuid() {
  return trimmed()
    .regex(GUID, 'must be a GUID')
    .transform((v) => v.toLowerCase());
}

/** One of `values`, exactly (case-sensitive). */
export function envEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return trimmed().pipe(z.enum(values, `must be one of ${values.join(', ')}`));
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A pino level name. */
export function envLogLevel() {
  return envEnum(LOG_LEVELS);
}
