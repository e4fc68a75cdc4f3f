import { X509Certificate } from 'node:crypto';

import { DOMParser } from '@xmldom/xmldom';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** What an IdP's metadata says we need: where to send AuthnRequests, and its signing certificates. */
export interface SamlIdpMetadata {
  readonly entityId: string | null;
  readonly entryPoint: string | null;
  readonly certs: readonly string[];
}

/** A certificate as PEM, from PEM or from the bare base64 of metadata's X509Certificate. */
function pemOf(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * The PEM certificates in `text` (one or more blocks), each parsed; null when there is none or one
 * does not parse.
 */
export function parseCertificates(text: string): string[] | null {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0 || blocks.length > 10) {
    return null;
  }
  try {
    return blocks.map((block) => {
      const pem = pemOf(
        block.replace('-----BEGIN CERTIFICATE-----', '').replace('-----END CERTIFICATE-----', ''),
      );
      new X509Certificate(pem);
      return pem;
    });
  } catch {
    return null;
  }
}

/** SHA-256 fingerprints, as operators compare them with their IdP's console. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

interface XmlElement {
  readonly namespaceURI: string | null;
  readonly localName: string;
  readonly textContent: string | null;
  getAttribute(name: string): string;
  getElementsByTagNameNS(namespace: string, name: string): ArrayLike<XmlElement>;
}

/** Reads an IdP's SAML metadata (EntityDescriptor with an IDPSSODescriptor); null when it is not. */
export function parseIdpMetadata(xml: string): SamlIdpMetadata | null {
  let root: XmlElement | null;
  try {
    let failed = false;
    const document = new DOMParser({
      errorHandler: {
        error: () => (failed = true),
        fatalError: () => (failed = true),
      },
    }).parseFromString(xml, 'text/xml');
    root = failed ? null : (document.documentElement as unknown as XmlElement | null);
  } catch {
    return null;
  }
  if (!root || root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') {
    return null;
  }
  const descriptor = Array.from(root.getElementsByTagNameNS(MD, 'IDPSSODescriptor'))[0];
  if (!descriptor) {
    return null;
  }
  const entryPoint =
    Array.from(descriptor.getElementsByTagNameNS(MD, 'SingleSignOnService'))
      .find((service) => service.getAttribute('Binding') === HTTP_REDIRECT)
      ?.getAttribute('Location') || null;
  const certs: string[] = [];
  for (const key of Array.from(descriptor.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const use = key.getAttribute('use');
    if (use && use !== 'signing') {
      continue;
    }
    for (const cert of Array.from(key.getElementsByTagNameNS(DS, 'X509Certificate'))) {
      const pem = pemOf(cert.textContent ?? '');
      try {
        new X509Certificate(pem);
      } catch {
        return null;
      }
      certs.push(pem);
    }
  }
  return { entityId: root.getAttribute('entityID') || null, entryPoint, certs };
}
