// Runs inside a network namespace of its own where login.microsoftonline.com and
// graph.microsoft.com resolve to 127.0.0.1 (a bind-mounted /etc/hosts) and nothing else is
// reachable: starts the fake in DNS mode on 443, then uses the real MSAL Node exactly as an app
// for Entra would - authority https://login.microsoftonline.com/{tenant}, neither
// knownAuthorities nor authorityMetadata - and Graph at https://graph.microsoft.com. Prints what
// happened as one JSON line; the test asserts on it.
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import { lookup } from 'node:dns/promises';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra } from '../../src/index.ts';

const LOGIN = 'https://login.microsoftonline.com';
const GRAPH = 'https://graph.microsoft.com';
const REDIRECT_URI = 'http://localhost:5001/auth/redirect';

const fake = await FakeEntra.start({ dnsMode: true, tls: { caDir: process.argv[2]! } });
try {
  const resolved = await lookup('login.microsoftonline.com');
  const web = new ConfidentialClientApplication({
    auth: {
      clientId: DEFAULTS.webClientId,
      clientSecret: DEFAULTS.webClientSecret,
      authority: `${LOGIN}/${DEFAULTS.tenantId}`,
    },
  });
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await web.getAuthCodeUrl({
    scopes: ['User.Read'],
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
  });
  const answer = await fake.completeSignIn(url, DEFAULTS.users.alice.upn);
  const signIn = await web.acquireTokenByCode({
    code: answer.params.code!,
    scopes: ['User.Read'],
    redirectUri: REDIRECT_URI,
    codeVerifier: verifier,
  });
  const me = await fetch(`${GRAPH}/v1.0/me`, {
    headers: { authorization: `Bearer ${signIn.accessToken}` },
  });
  const api = await web.acquireTokenSilent({
    account: signIn.account!,
    scopes: [`${DEFAULTS.apiIdentifier}/data.read`],
  });
  const daemon = new ConfidentialClientApplication({
    auth: {
      clientId: DEFAULTS.daemonClientId,
      clientSecret: DEFAULTS.daemonClientSecret,
      authority: `${LOGIN}/${DEFAULTS.tenantId}`,
    },
  });
  const app = await daemon.acquireTokenByClientCredential({
    scopes: [`${DEFAULTS.apiIdentifier}/.default`],
  });
  const loginServesGraph = await fetch(`${LOGIN}/v1.0/me`, {
    headers: { authorization: `Bearer ${signIn.accessToken}` },
  });
  const graphServesDiscovery = await fetch(
    `${GRAPH}/${DEFAULTS.tenantId}/v2.0/.well-known/openid-configuration`,
  );
  const seen = fake.requests().map((r) => `${r.method} ${r.headers.host} ${r.path}`);
  console.log(
    JSON.stringify({
      resolved: resolved.address,
      authorizeUrl: url,
      profile: await me.json(),
      meStatus: me.status,
      apiIssuer: decodeJwt(api.accessToken).iss,
      apiAudience: decodeJwt(api.accessToken).aud,
      appRoles: decodeJwt(app!.accessToken).roles,
      loginServesGraph: loginServesGraph.status,
      graphServesDiscovery: graphServesDiscovery.status,
      seen,
    }),
  );
} finally {
  await fake.close();
}
