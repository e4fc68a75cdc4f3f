import { randomUUID, X509Certificate } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenCookieSession, givenUser, TRUSTED_ORIGIN } from '../support/http.js';
import { givenSamlTestKey, type SamlTestKey } from '../support/saml-idp.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const slug = () => `saml-${randomUUID().slice(0, 8)}`;
const base64Of = (pem: string): string =>
  pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/** Issue 20: operators register SAML 2.0 identity providers (entry point and certificates, or metadata). */
describe('admin-api SAML identity providers', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let cookie: string;
  let key: SamlTestKey;
  let second: SamlTestKey;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    db = auth.get(DataSource);
    const operator = await givenUser(auth);
    await db.query(`UPDATE users SET roles = '{admin}' WHERE id = $1`, [operator.id]);
    ({ cookie } = await givenCookieSession(auth, operator));
    key = givenSamlTestKey();
    second = givenSamlTestKey('rollover');
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    admin.inject({
      method,
      url,
      headers: { cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  const valid = () => ({
    type: 'saml',
    slug: slug(),
    displayName: 'Corp SAML',
    entryPoint: 'https://idp.corp.example/sso',
    idpCert: key.cert,
  });

  it('registers a SAML provider and shows what to give the IdP', async () => {
    const body = { ...valid(), idpCert: `${key.cert}\n${second.cert}` };
    const created = await call('POST', '/admin/identity-providers', body);
    expect(created.statusCode).toBe(201);
    const issuer = 'http://localhost:3000';
    expect(created.json()).toMatchObject({
      slug: body.slug,
      type: 'saml',
      enabled: true,
      issuer: null,
      clientId: null,
      hasClientSecret: false,
      linking: 'none',
      provisioning: 'create',
      claimMapping: { email: 'email', name: 'name' },
      redirectUri: `${issuer}/federation/${body.slug}/saml/acs`,
      saml: {
        entryPoint: 'https://idp.corp.example/sso',
        idpEntityId: null,
        idpCertFingerprints: [
          new X509Certificate(key.cert).fingerprint256,
          new X509Certificate(second.cert).fingerprint256,
        ],
        spEntityId: `${issuer}/federation/${body.slug}/saml/metadata`,
        metadataUrl: `${issuer}/federation/${body.slug}/saml/metadata`,
        acsUrl: `${issuer}/federation/${body.slug}/saml/acs`,
      },
    });
    const id = created.json<{ id: string }>().id;
    const changed = await call('PATCH', `/admin/identity-providers/${id}`, {
      spEntityId: 'urn:corp:gatehouse',
      idpCert: second.cert,
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      saml: {
        spEntityId: 'urn:corp:gatehouse',
        idpCertFingerprints: [new X509Certificate(second.cert).fingerprint256],
        entryPoint: 'https://idp.corp.example/sso',
      },
    });
  });

  it('reads the entry point, signing certificates and entity ID from IdP metadata', async () => {
    const metadata = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.corp.example/metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${base64Of(key.cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${base64Of(second.cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.corp.example/sso/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.corp.example/sso/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
    const created = await call('POST', '/admin/identity-providers', {
      type: 'saml',
      slug: slug(),
      displayName: 'From metadata',
      idpMetadataXml: metadata,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      saml: {
        entryPoint: 'https://idp.corp.example/sso/redirect',
        idpEntityId: 'https://idp.corp.example/metadata',
        idpCertFingerprints: [new X509Certificate(key.cert).fingerprint256],
      },
    });
  });

  it.each([
    [{ entryPoint: 'http://idp.corp.example/sso' }, 'entryPoint'],
    [{ entryPoint: 'not a url' }, 'entryPoint'],
    [{ entryPoint: undefined }, 'entryPoint'],
    [{ idpCert: 'not a certificate' }, 'idpCert'],
    [{ idpCert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'idpCert'],
    [{ idpCert: undefined }, 'idpCert'],
    [{ idpMetadataXml: '<not-metadata/>' }, 'idpMetadataXml'],
    [{ spEntityId: 'no scheme' }, 'spEntityId'],
    [{ linking: 'always' }, 'linking'],
  ])('answers 400 VALIDATION_FAILED naming the field for %j', async (change, field) => {
    const response = await call('POST', '/admin/identity-providers', { ...valid(), ...change });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ error: string; details: { field: string }[] }>();
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.details.map((detail) => detail.field)).toContain(field);
  });

  it('accepts a plain-http entry point on loopback outside production (a local IdP)', async () => {
    const response = await call('POST', '/admin/identity-providers', {
      ...valid(),
      entryPoint: 'http://127.0.0.1:8080/sso',
    });
    expect(response.statusCode).toBe(201);
  });
});
