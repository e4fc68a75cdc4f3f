#!/usr/bin/env node
// The CLI use case end to end: sign a command-line tool in with the device authorization grant
// (RFC 8628) and OpenID Connect, and print who it is signed in as.
//
//   npm run example:device-login -- [--issuer URL] [--client-id ID] [--scope "..."]
//
// Defaults: GATEHOUSE_ISSUER or http://localhost:3000 (npm start), the platform's first-party
// client (FIRST_PARTY_CLIENT_ID, default gatehouse-first-party), which has the device grant, and
// the scope "openid email offline_access": an ID token (who and which session), the email at
// userinfo, and a refresh token to stay signed in. The scope must include openid.
//
// Plain JavaScript on purpose: it runs with `node` and no build step, and a team can copy it as is.
// The protocol work is openid-client's: discovery, the device authorization request, and polling
// that waits `interval` seconds between requests, 5 s more after every `slow_down` (RFC 8628 §3.5).
import { parseArgs } from 'node:util';

import * as client from 'openid-client';

const { values: options } = parseArgs({
  options: {
    issuer: { type: 'string', default: process.env.GATEHOUSE_ISSUER ?? 'http://localhost:3000' },
    'client-id': {
      type: 'string',
      default: process.env.GATEHOUSE_CLIENT_ID ?? 'gatehouse-first-party',
    },
    scope: { type: 'string', default: 'openid email offline_access' },
  },
});

const issuer = new URL(options.issuer);
// Plain http is for a local npm start only; openid-client refuses it unless told.
const insecure = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {};

/** An error of the protocol (or the network), said in one line. */
function explain(error) {
  if (error instanceof client.ResponseBodyError) {
    return `${error.error}: ${error.error_description ?? 'no description'}`;
  }
  return error instanceof Error ? error.message : String(error);
}

try {
  const config = await client.discovery(
    issuer,
    options['client-id'],
    undefined,
    undefined,
    insecure,
  );
  const device = await client.initiateDeviceAuthorization(config, { scope: options.scope });
  console.log(`To sign in, open ${device.verification_uri} and enter the code ${device.user_code}`);
  console.log(`(or open ${device.verification_uri_complete})`);
  console.log(`Waiting for you to approve… (the code expires in ${device.expires_in} s)`);

  const tokens = await client.pollDeviceAuthorizationGrant(config, device);

  // Who is this? The ID token (checked by openid-client) names the user and the session; the
  // userinfo endpoint releases the email (the email scope).
  const idToken = tokens.claims();
  if (!idToken) {
    throw new Error(`no ID token: the scope "${tokens.scope}" has no openid`);
  }
  const userInfo = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
  console.log(
    `Signed in as ${userInfo.email ?? '(no email scope)'} (user ${idToken.sub}, session ${idToken.sid})`,
  );
  console.log(
    `Access token for ${tokens.expiresIn()} s${tokens.refresh_token ? ', with a refresh token' : ''}.`,
  );
} catch (error) {
  console.error(`Device login failed: ${explain(error)}`);
  process.exitCode = 1;
}
