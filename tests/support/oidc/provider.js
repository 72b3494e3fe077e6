// A real OpenID Connect provider (npm oidc-provider) for cargohold's tests.
//
//   node provider.js PORT CONFIG.json
//
// CONFIG: {"clients": [oidc-provider client metadata...],
//          "users": [{"login", "password", "sub", ...other claims}...]}
// Serves http://127.0.0.1:PORT as the issuer, signs with a new RSA key (and kid) per start,
// replaces the development interactions with two tiny form pages (/interaction/UID) that a
// test drives with plain HTTP: POST login=...&password=... signs in, a second POST grants
// consent, and a POST with deny=1 on either page ends the login with access_denied.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
const { clients, users } = JSON.parse(readFileSync(configPath, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

async function findAccount(ctx, sub) {
  const user = users.find((candidate) => candidate.sub === sub);
  if (!user) return undefined;
  const { login, password, ...claims } = user;
  return { accountId: sub, claims: async () => claims };
}

const provider = new Provider(issuer, {
  clients,
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  cookies: { keys: ['cargohold-test-only'] },
  features: { devInteractions: { enabled: false } },
  jwks: { keys: [{ ...signingKey, kid: randomUUID(), use: 'sig', alg: 'RS256' }] },
  pkce: { required: () => true },
});

const FORMS = {
  login: '<input name="login"><input name="password" type="password"><button>Sign in</button>',
  consent: '<button>Allow</button><button name="deny" value="1">Deny</button>',
};

function page(res, status, prompt) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><form method="post">${FORMS[prompt]}</form>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function signIn(form) {
  const user = users.find((candidate) => candidate.login === form.get('login'));
  if (!user || user.password !== form.get('password')) return undefined;
  return { login: { accountId: user.sub } };
}

async function grantConsent({ grantId, session, params, prompt: { details } }) {
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  return { consent: { grantId: await grant.save() } };
}

const DENIED = { error: 'access_denied', error_description: 'the user denied it' };

async function interact(req, res) {
  const interaction = await provider.interactionDetails(req, res);
  const prompt = interaction.prompt.name;
  if (req.method === 'GET') return page(res, 200, prompt);
  const form = await readForm(req);
  let result;
  if (form.has('deny')) result = DENIED;
  else if (prompt === 'login') result = signIn(form);
  else result = await grantConsent(interaction);
  if (!result) return page(res, 401, prompt);
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const providerCallback = provider.callback();
createServer((req, res) => {
  if (!req.url.startsWith('/interaction/')) return providerCallback(req, res);
  return interact(req, res).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(String(error));
  });
}).listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
