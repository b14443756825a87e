// The device authorization grant: the discovery document advertises the endpoint; the device
// gets a user code and polls (authorization_pending, the interval) while a person enters the code
// on the browser-facing verification page, signs in or cancels (authorization_declined); codes
// expire (expired_token). With the real MSAL Node (acquireTokenByDeviceCode) and over HTTP.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PublicClientApplication, type DeviceCodeRequest } from '@azure/msal-node';

type DeviceCodeResponse = Parameters<DeviceCodeRequest['deviceCodeCallback']>[0];
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  advancedConfig,
  createTestCertificate,
  DEVICE_CLIENT_ID,
  V1_API,
} from './support/advanced-config.ts';
import { tokenRequest } from './support/flows.ts';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const SCOPE = `${DEFAULTS.apiIdentifier}/data.read openid profile offline_access`;

let fake: FakeEntra;

beforeAll(async () => {
  fake = await FakeEntra.start({
    config: advancedConfig({ certificate: await createTestCertificate() }),
    lifetimes: { deviceCodeInterval: 1 },
  });
});
afterAll(async () => {
  await fake.close();
});

const hidden = (html: string) =>
  Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );

/** A person at the verification page: enters the code, then signs in as `upn` or cancels. */
async function person(
  verificationUri: string,
  userCode: string,
  choice: { upn: string } | 'cancel',
  consent: 'accept' | 'cancel' = 'accept',
): Promise<{ status: number; text: string; pages?: string[] }> {
  const post = (body: Record<string, string>) =>
    fetch(verificationUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const form = await fetch(verificationUri);
  expect(form.status).toBe(200);
  expect(await form.text()).toMatch(/<label for="otc">Code<\/label>/);
  const picker = await post({ otc: userCode.toLowerCase() });
  const page = await picker.text();
  if (picker.status !== 200) return { status: picker.status, text: page };
  const fields = hidden(page);
  let res =
    choice === 'cancel'
      ? await post({ ...fields, fake_entra_cancel: '1' })
      : await post({ ...fields, fake_entra_user: choice.upn });
  let text = await res.text();
  const pages: string[] = [];
  // Further pages: the second factor, then consent (Accept, or Cancel when asked to).
  for (let i = 0; i < 3; i++) {
    const step = /data-fake-entra-step="(second-factor|consent)"/.exec(text)?.[1];
    if (!step) break;
    pages.push(step);
    const answer: Record<string, string> =
      step === 'second-factor'
        ? { fake_entra_answer: 'approve' }
        : { fake_entra_consent: consent === 'cancel' ? 'cancel' : 'accept' };
    res = await post({ ...hidden(text), ...answer });
    text = await res.text();
  }
  return { status: res.status, text, pages };
}

async function deviceCode(scope = SCOPE) {
  const res = await fetch(`${fake.authority()}/oauth2/v2.0/devicecode`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: DEVICE_CLIENT_ID, scope }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const poll = (code: string) =>
  tokenRequest(fake, { grant_type: DEVICE_GRANT, client_id: DEVICE_CLIENT_ID, device_code: code });

describe('device code over HTTP', () => {
  test('discovery advertises the endpoint; the answer has Entra fields; the page is browser-facing', async () => {
    const discovery = (await (
      await fetch(`${fake.authority()}/v2.0/.well-known/openid-configuration`)
    ).json()) as { device_authorization_endpoint: string };
    expect(discovery.device_authorization_endpoint).toBe(
      `${fake.authority()}/oauth2/v2.0/devicecode`,
    );
    const { status, body } = await deviceCode();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      user_code: expect.stringMatching(/^[A-Z2-9]{9}$/),
      device_code: expect.any(String),
      verification_uri: `${fake.publicUrl}/common/oauth2/deviceauth`,
      expires_in: 900,
      interval: 1,
    });
    expect(body.message).toBe(
      `To sign in, use a web browser to open the page ${body.verification_uri} and enter the code ${body.user_code} to authenticate.`,
    );
    expect(body).not.toHaveProperty('verification_uri_complete');
  });

  test('authorization_pending until the person signs in, then tokens; the code works once', async () => {
    const { body } = await deviceCode();
    const pending = await poll(body.device_code);
    expect(pending.status).toBe(400);
    expect(pending.body).toMatchObject({ error: 'authorization_pending', error_codes: [70016] });
    const page = await person(body.verification_uri, body.user_code, { upn: 'alice@contoso.test' });
    expect(page.text).toMatch(
      /You have signed in to the Device console application on your device/,
    );
    const tokens = await poll(body.device_code);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.access_token)).toMatchObject({
      azp: DEVICE_CLIENT_ID,
      azpacr: '0',
      oid: DEFAULTS.users.alice.oid,
      scp: 'data.read',
    });
    expect(typeof tokens.body.refresh_token).toBe('string');
    expect(typeof tokens.body.id_token).toBe('string');
    expect((await poll(body.device_code)).body.error).toBe('invalid_grant');
  });

  test('Cancel: authorization_declined; an unknown device code: bad_verification_code', async () => {
    const { body } = await deviceCode();
    await person(body.verification_uri, body.user_code, 'cancel');
    expect((await poll(body.device_code)).body).toMatchObject({
      error: 'authorization_declined',
    });
    expect((await poll('DAQABIQEAAADnotacode')).body.error).toBe('bad_verification_code');
  });

  test('after expires_in: expired_token, and the page refuses the code', async () => {
    const local = await FakeEntra.start({
      config: advancedConfig({ certificate: await createTestCertificate() }),
      lifetimes: { deviceCode: 1 },
    });
    try {
      const res = await fetch(`${local.authority()}/oauth2/v2.0/devicecode`, {
        method: 'POST',
        body: new URLSearchParams({ client_id: DEVICE_CLIENT_ID, scope: SCOPE }),
      });
      const body = (await res.json()) as {
        device_code: string;
        user_code: string;
        verification_uri: string;
      };
      await new Promise((r) => setTimeout(r, 1100));
      const late = await tokenRequest(local, {
        grant_type: DEVICE_GRANT,
        client_id: DEVICE_CLIENT_ID,
        device_code: body.device_code,
      });
      expect(late.body).toMatchObject({ error: 'expired_token', error_codes: [70019] });
      const page = await fetch(body.verification_uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ otc: body.user_code }),
      });
      expect(page.status).toBe(400);
      expect(await page.text()).toMatch(/AADSTS70019/);
    } finally {
      await local.close();
    }
  });

  test('a wrong user code is refused on the page (AADSTS70018)', async () => {
    const { body } = await deviceCode();
    const wrong = await person(body.verification_uri, 'WRONGCODE', { upn: 'alice@contoso.test' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toMatch(/AADSTS70018/);
  });

  test('the page asks for consent to what the device asked for; Cancel declines', async () => {
    // Scopes the app registration does not list: dynamic consent, asked on the page.
    const scope = `${V1_API.identifier}/reports.read openid offline_access`;
    const dave = 'dave@contoso.test';
    const declined = await deviceCode(scope);
    const no = await person(
      declined.body.verification_uri,
      declined.body.user_code,
      { upn: dave },
      'cancel',
    );
    expect(no.pages).toEqual(['consent']);
    expect((await poll(declined.body.device_code)).body.error).toBe('authorization_declined');

    const accepted = await deviceCode(scope);
    const yes = await person(accepted.body.verification_uri, accepted.body.user_code, {
      upn: dave,
    });
    expect(yes.pages).toEqual(['consent']);
    const tokens = await poll(accepted.body.device_code);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.access_token)).toMatchObject({ scp: 'reports.read', ver: '1.0' });
  });

  test('a Conditional Access policy asks the person for a second factor first', async () => {
    const bob = await deviceCode(`${V1_API.identifier}/reports.read`);
    const page = await person(bob.body.verification_uri, bob.body.user_code, {
      upn: 'bob@contoso.test',
    });
    expect(page.pages?.[0]).toBe('second-factor');
    const tokens = await poll(bob.body.device_code);
    expect(decodeJwt(tokens.body.access_token)).toMatchObject({ amr: ['pwd', 'mfa'] });
  });
});

describe('MSAL Node acquireTokenByDeviceCode', () => {
  test('the callback shows the code, the person signs in, MSAL polls and gets the tokens', async () => {
    const pca = new PublicClientApplication({
      auth: {
        clientId: DEVICE_CLIENT_ID,
        authority: fake.authority(),
        knownAuthorities: [new URL(fake.baseUrl).host],
      },
    });
    let shown: DeviceCodeResponse | undefined;
    let signedIn: Promise<unknown> | undefined;
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${DEFAULTS.apiIdentifier}/data.read`],
      deviceCodeCallback: (response) => {
        shown = response;
        // The person needs a moment: MSAL polls at least once (authorization_pending).
        signedIn = new Promise((r) => setTimeout(r, 1500)).then(() =>
          person(response.verificationUri, response.userCode, { upn: 'bob@contoso.test' }),
        );
      },
    });
    await signedIn;
    expect(shown?.interval).toBe(1);
    expect(result!.account?.username).toBe('bob@contoso.test');
    expect(decodeJwt(result!.accessToken)).toMatchObject({
      oid: DEFAULTS.users.bob.oid,
      scp: 'data.read',
    });
    // MSAL sends grant_type=device_code, the short name Entra accepts beside the URN.
    const polls = fake.requests({ endpoint: 'token', grantType: 'device_code' });
    expect(polls.map((r) => r.response.error)).toContain('authorization_pending');
    expect(polls.at(-1)!.response.status).toBe(200);
  });
});
