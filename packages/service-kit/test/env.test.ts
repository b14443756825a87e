import { describe, expect, test } from '@jest/globals';
import {
  ConfigError,
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
} from '../src/index.ts';

/** The ConfigError readEnv throws for `env`. */
function refused(readers: Parameters<typeof readEnv>[0], env: Record<string, string | undefined>) {
  try {
    readEnv(readers, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readers', () => {
  test('int and port: decimal digits within bounds', () => {
    const readers = { N: envInt({ min: 1, max: 10 }), P: envPort() };
    expect(readEnv(readers, { N: ' 7 ', P: '0' })).toEqual({ N: 7, P: 0 });
    for (const [value, problem] of [
      ['0', 'must be at least 1'],
      ['11', 'must be at most 10'],
      ['-1', 'must be a whole number from 1 to 10'],
      ['1.5', 'must be a whole number from 1 to 10'],
      ['1e3', 'must be a whole number from 1 to 10'],
      ['0x10', 'must be a whole number from 1 to 10'],
    ] as const)
      expect(refused(readers, { N: value, P: '1' }).problems).toEqual([{ variable: 'N', problem }]);
    expect(refused(readers, { N: '1', P: '65536' }).message).toBe(
      'invalid configuration: P: must be at most 65535',
    );
  });

  test('bool: true/false (any case) or 1/0, nothing guessed', () => {
    const readers = { B: envBool() };
    for (const [value, expected] of [
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['False', false],
      ['0', false],
    ] as const)
      expect(readEnv(readers, { B: value }).B).toBe(expected);
    for (const value of ['yes', 'no', 'on', 'off', '2', 'truthy'])
      expect(refused(readers, { B: value }).message).toBe(
        'invalid configuration: B: must be true or false',
      );
  });

  test('url: absolute, with an allowed scheme; trailing slashes trimmed on request', () => {
    const readers = {
      BASE: envUrl({ protocols: ['https:'], trimTrailingSlash: true }),
      DB: envUrl({ protocols: ['postgres:', 'postgresql:'] }),
    };
    expect(readEnv(readers, { BASE: 'https://login.example//', DB: 'postgresql://h/db' })).toEqual({
      BASE: 'https://login.example',
      DB: 'postgresql://h/db',
    });
    expect(refused(readers, { BASE: 'login.example', DB: 'mysql://h/db' }).problems).toEqual([
      { variable: 'BASE', problem: 'must be an absolute URL' },
      { variable: 'DB', problem: 'must be an absolute URL with scheme postgres or postgresql' },
    ]);
  });

  test('list: comma (or comma and space) separated, trimmed, each item read', () => {
    const readers = {
      IDS: envList({ item: envGuid() }),
      SCOPES: envList({ separator: 'comma-or-space' }),
    };
    expect(
      readEnv(readers, {
        IDS: ' 3F1D2C4B-8A6E-4F7D-9B0C-1E2A3B4C5D6E ,,',
        SCOPES: 'a b,c\td',
      }),
    ).toEqual({ IDS: ['3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e'], SCOPES: ['a', 'b', 'c', 'd'] });
    expect(refused(readers, { IDS: 'contoso.com', SCOPES: ' , ' }).problems).toEqual([
      { variable: 'IDS', problem: 'must be a GUID' },
      { variable: 'SCOPES', problem: 'must name at least one item' },
    ]);
  });

  test('string, GUID, enum and log level', () => {
    const readers = {
      NAME: envString({ pattern: /^[a-z]+$/, message: 'must be lower-case letters' }),
      ID: envGuid(),
      MODE: envEnum(['a', 'b']),
      LEVEL: envLogLevel(),
    };
    expect(
      readEnv(readers, {
        NAME: 'x',
        ID: 'C750C37C-6C67-4211-A9E2-6F035A897CFA',
        MODE: 'b',
        LEVEL: 'debug',
      }),
    ).toEqual({
      NAME: 'x',
      ID: 'c750c37c-6c67-4211-a9e2-6f035a897cfa',
      MODE: 'b',
      LEVEL: 'debug',
    });
    expect(
      refused(readers, { NAME: 'X', ID: 'c750c37c', MODE: 'A', LEVEL: 'verbose' }).problems,
    ).toEqual([
      { variable: 'NAME', problem: 'must be lower-case letters' },
      { variable: 'ID', problem: 'must be a GUID' },
      { variable: 'MODE', problem: 'must be one of a, b' },
      {
        variable: 'LEVEL',
        problem: 'must be one of fatal, error, warn, info, debug, trace, silent',
      },
    ]);
  });
});

describe('readEnv', () => {
  const readers = {
    PORT: envPort().default(8000),
    HOST: envString().optional(),
    SECRET: envString().describe('the signing secret'),
    DEBUG: envBool().default(false),
  };

  test('an empty variable means unset: defaults apply, optional ones stay undefined', () => {
    expect(readEnv(readers, { PORT: '', HOST: '', SECRET: 's', DEBUG: '' })).toEqual({
      PORT: 8000,
      HOST: undefined,
      SECRET: 's',
      DEBUG: false,
    });
  });

  test('every missing or bad variable is named at once, in one format', () => {
    const error = refused(readers, { PORT: 'eighty', SECRET: '', DEBUG: 'yes' });
    expect(error.message).toBe(
      'invalid configuration: PORT: must be a whole number from 0 to 65535; ' +
        'SECRET: is required (the signing secret); DEBUG: must be true or false',
    );
    expect(error.variables).toEqual(['PORT', 'SECRET', 'DEBUG']);
    expect(error.name).toBe('ConfigError');
  });

  test('a problem never echoes the value (it may be a secret)', () => {
    const secretish = 'hunter2-hunter2';
    const error = refused(
      { KEY: envString({ pattern: /^k-/, message: 'must start with k-' }), N: envInt() },
      { KEY: secretish, N: secretish },
    );
    expect(error.message).not.toContain(secretish);
  });

  test('checks across variables report on variables that read well, after them', () => {
    const options = {
      check: (v: { A?: number; B?: number }, report: (n: string, p: string) => void) => {
        if (v.A !== undefined && v.B !== undefined && v.A > v.B) report('A', 'must not exceed B');
        report('B', 'is checked too');
      },
    };
    const pair = { A: envInt(), B: envInt() };
    expect(() => readEnv(pair, { A: '1', B: '2' }, options)).toThrow(
      'invalid configuration: B: is checked too',
    );
    expect(() => readEnv(pair, { A: '3', B: 'x' }, options)).toThrow(
      // B already has a problem: its check is not reported twice
      /^invalid configuration: B: must be a whole number from 0 to \d+$/,
    );
    expect(() => readEnv(pair, { A: '3', B: '2' }, options)).toThrow(
      'invalid configuration: A: must not exceed B; B: is checked too',
    );
  });
});
