import { expect, test } from '@jest/globals';
import { constantTimeEqual } from '../src/index.ts';

test('constantTimeEqual: equal strings only, whatever their lengths and characters', () => {
  const token = 'x1Y2z3-_'.repeat(5);
  expect(constantTimeEqual(token, `${token}`)).toBe(true);
  expect(constantTimeEqual(token, `${token.slice(0, -1)}A`)).toBe(false);
  expect(constantTimeEqual(token, token.slice(0, -1))).toBe(false); // a prefix
  expect(constantTimeEqual(token, `${token}x`)).toBe(false);
  expect(constantTimeEqual('', '')).toBe(true);
  expect(constantTimeEqual('', 'a')).toBe(false);
  expect(constantTimeEqual('é', 'e\u0301')).toBe(false); // compared as code units, not normalised
  expect(constantTimeEqual('ünï', 'ünï')).toBe(true);
});
