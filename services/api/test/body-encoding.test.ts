// W2 (issue 13): a request body whose Content-Encoding does not decode is the caller's error:
// 400 for gzip/deflate/br garbage, 415 for an encoding the API does not know, logged at warn
// without a stack; a well-formed compressed body is accepted.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { ALICE, FakeEntra, startTestApi, write, type TestApi } from './support/api.ts';

jest.setTimeout(30_000);

let fake: FakeEntra;
let api: TestApi;
let token: string;

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await startTestApi(fake);
  token = await fake.mintAccessToken({ user: ALICE, scopes: ['data.write'] });
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const post = (body: Buffer, encoding: string) =>
  write(
    api,
    token,
    body as unknown as string,
    {
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body: new Uint8Array(body),
    } as RequestInit,
  );

const accessLine = (requestId: string | null) =>
  api.logs.entries().find((l) => l.requestId === requestId && typeof l.status === 'number');

describe('compressed request bodies', () => {
  const json = Buffer.from(JSON.stringify({ note: 'compressed' }));
  test.each([
    ['gzip', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['br', brotliCompressSync(json)],
  ])('%s that decodes: 201', async (encoding, body) => {
    expect((await post(body, encoding)).status).toBe(201);
  });

  const garbage = Buffer.from('this is not compressed data at all, just bytes'.repeat(4));
  test.each([
    ['gzip', Buffer.concat([gzipSync(json).subarray(0, 10), garbage])],
    ['gzip', garbage],
    ['deflate', garbage],
    ['br', garbage],
  ])('%s garbage: 400 invalid_request, logged at warn without a stack', async (encoding, body) => {
    const r = await post(body, encoding);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: 'invalid_request',
      error_description: `The request body is not valid ${encoding} data (Content-Encoding)`,
    });
    const id = r.headers.get('x-request-id');
    expect(accessLine(id)).toMatchObject({ status: 400 });
    const lines = api.logs.entries().filter((l) => l.requestId === id);
    expect(lines.find((l) => l.msg === 'request body could not be decoded')).toMatchObject({
      level: 'warn',
      contentEncoding: encoding,
    });
    expect(lines.some((l) => l.level === 'error')).toBe(false);
    expect(JSON.stringify(lines)).not.toMatch(/"stack"|"err"/);
  });

  test('an unknown Content-Encoding: 415 naming it', async () => {
    const r = await post(json, 'compress');
    expect(r.status).toBe(415);
    expect(r.body).toEqual({
      error: 'unsupported_media_type',
      error_description:
        'The request body has a Content-Encoding this API does not accept (compress); use gzip, deflate, br or none',
    });
    const line = accessLine(r.headers.get('x-request-id'));
    expect(JSON.stringify(line)).not.toMatch(/"stack"/);
  });
});
