// A test OpenID provider for kubeward-login: oidc-provider (OpenID Certified) over HTTPS on
// 127.0.0.1 with a random port. Usage:
//   node server.js <cert.pem> <key.pem> [id_token_ttl_seconds]
// Prints one JSON line {"issuer": "..."} on stdout once it listens.
// Accounts: any login name signs in (devInteractions); alice is in group devs, bob in others.
// Client: kubeward (public, PKCE, native loopback redirect on any port, refresh tokens,
// device flow).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

// stdout carries only the issuer line; the provider's notices go to stderr.
console.log = console.error;
console.info = console.error;

const [certFile, keyFile, ttlArg] = process.argv.slice(2);
const idTokenTtl = Number(ttlArg || 10);
// More exact redirect URIs for the client (the dashboard's https callback), comma-separated.
// oidc-provider refuses https loopback URIs for native clients, so with any the client is a
// web client (exact URIs; the plugin's any-port loopback redirect is then not offered).
const extraRedirects = (process.env.IDP_EXTRA_REDIRECT_URIS || '').split(',').filter(Boolean);

const accounts = {
  alice: { sub: 'alice', email: 'alice@example.com', email_verified: true, groups: ['devs'], name: 'Alice' },
  bob: { sub: 'bob', email: 'bob@example.com', email_verified: true, groups: ['others'], name: 'Bob' },
  carol: { sub: 'carol', email: 'carol@example.com', email_verified: false, groups: 'devs', name: 'Carol' },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256-1', use: 'sig', alg: 'RS256' };

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'kubeward',
      application_type: extraRedirects.length ? 'web' : 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback', ...extraRedirects],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['kubeward-test-idp'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
      profile: ['name'],
    },
    scopes: ['openid', 'offline_access', 'email', 'groups', 'profile'],
    // Put the scope's claims in the id_token even though an access token is issued too.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: {
      IdToken: idTokenTtl,
      AccessToken: idTokenTtl,
      RefreshToken: 3600,
      DeviceCode: 300,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    findAccount: async (_ctx, id) => {
      const account = accounts[id] || { sub: id, groups: [] };
      return { accountId: id, claims: async () => ({ ...account, sub: id }) };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
