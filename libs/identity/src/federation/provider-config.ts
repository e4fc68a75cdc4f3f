import type {
  IdentityProvider,
  OidcProviderConfig,
  SamlProviderConfig,
} from '@gatehouse/persistence';

/** The settings of an OIDC provider; a SAML provider here is a programming error. */
export function oidcConfig(provider: IdentityProvider): OidcProviderConfig {
  if (provider.type !== 'oidc' || provider.config.protocol === 'saml') {
    throw new Error(`Identity provider ${provider.slug} is not an OpenID Connect provider.`);
  }
  return provider.config;
}

/** The settings of a SAML provider; an OIDC provider here is a programming error. */
export function samlConfig(provider: IdentityProvider): SamlProviderConfig {
  if (provider.type !== 'saml' || provider.config.protocol !== 'saml') {
    throw new Error(`Identity provider ${provider.slug} is not a SAML provider.`);
  }
  return provider.config;
}
