import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

import { SignedXml } from 'xml-crypto';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/** A key pair and self-signed certificate made at test start (openssl), never committed. */
export interface SamlTestKey {
  readonly privateKey: string;
  readonly cert: string;
}

export function givenSamlTestKey(commonName = 'gatehouse-test-idp'): SamlTestKey {
  const dir = mkdtempSync(join(tmpdir(), 'saml-idp-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      privateKey: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The AuthnRequest behind an HTTP-Redirect URL (deflated, base64) and its RelayState. */
export function readAuthnRequest(location: string): {
  id: string;
  acsUrl: string | null;
  issuer: string | null;
  relayState: string | null;
  xml: string;
} {
  const url = new URL(location);
  const xml = inflateRawSync(
    Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64'),
  ).toString('utf8');
  return {
    id: /\sID="([^"]+)"/.exec(xml)?.[1] ?? '',
    acsUrl: /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)?.[1] ?? null,
    issuer: /<saml:Issuer[^>]*>([^<]+)</.exec(xml)?.[1] ?? null,
    relayState: url.searchParams.get('RelayState'),
    xml,
  };
}

export interface SamlAssertionSpec {
  readonly key: SamlTestKey;
  readonly idpEntityId: string;
  readonly acsUrl: string;
  readonly audience: string;
  readonly inResponseTo: string;
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly assertionId?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  readonly recipient?: string;
  readonly destination?: string | null;
  /** What is signed: the assertion (default), only the response around it, or nothing. */
  readonly sign?: 'assertion' | 'response' | 'none';
}

const escape = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function signed(xml: string, key: SamlTestKey, element: 'Assertion' | 'Response'): string {
  const signature = new SignedXml({
    privateKey: key.privateKey,
    publicCert: key.cert,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  signature.addReference({
    xpath: `//*[local-name(.)='${element}']`,
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: SHA256,
  });
  signature.computeSignature(xml, {
    prefix: 'ds',
    location: {
      reference: `//*[local-name(.)='${element}']/*[local-name(.)='Issuer']`,
      action: 'after',
    },
  });
  return signature.getSignedXml();
}

/** A SAML Response (base64, as posted to the ACS) from the test IdP. */
export function samlResponse(spec: SamlAssertionSpec): string {
  const now = new Date();
  const notBefore = (spec.notBefore ?? new Date(now.getTime() - 30_000)).toISOString();
  const notOnOrAfter = (spec.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000)).toISOString();
  const assertionId = spec.assertionId ?? `_a${randomUUID().replace(/-/g, '')}`;
  const responseId = `_r${randomUUID().replace(/-/g, '')}`;
  const destination = spec.destination === undefined ? spec.acsUrl : spec.destination;
  const attributes = Object.entries(spec.attributes ?? {})
    .map(
      ([name, value]) =>
        `<saml:Attribute Name="${escape(name)}"><saml:AttributeValue>${escape(value)}</saml:AttributeValue></saml:Attribute>`,
    )
    .join('');
  let assertion =
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${escape(spec.idpEntityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${spec.nameIdFormat ?? NAMEID_PERSISTENT}">${escape(spec.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData InResponseTo="${escape(spec.inResponseTo)}" NotOnOrAfter="${notOnOrAfter}" Recipient="${escape(spec.recipient ?? spec.acsUrl)}"/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${escape(spec.audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${assertionId}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    `</saml:Assertion>`;
  const sign = spec.sign ?? 'assertion';
  if (sign === 'assertion') {
    assertion = signed(assertion, spec.key, 'Assertion');
  }
  let response =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${now.toISOString()}" InResponseTo="${escape(spec.inResponseTo)}"${destination === null ? '' : ` Destination="${escape(destination)}"`}>` +
    `<saml:Issuer>${escape(spec.idpEntityId)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertion.replace(/^<\?xml[^>]*>/, '') +
    `</samlp:Response>`;
  if (sign === 'response') {
    response = signed(response, spec.key, 'Response');
  }
  return Buffer.from(response, 'utf8').toString('base64');
}
