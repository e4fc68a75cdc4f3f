import { describe, expect, it } from 'vitest';

import { ACR, acrSatisfies } from './acr.js';

describe(acrSatisfies.name, () => {
  it('orders the classes: password < mfa < phishing-resistant', () => {
    expect(acrSatisfies(ACR.mfa, [ACR.mfa, ACR.phishingResistant])).toBe(true);
    expect(acrSatisfies(ACR.phishingResistant, [ACR.mfa])).toBe(true);
    expect(acrSatisfies(ACR.password, [ACR.mfa, ACR.phishingResistant])).toBe(false);
    expect(acrSatisfies(ACR.mfa, [ACR.phishingResistant])).toBe(false);
  });

  it('satisfies nothing without a known class', () => {
    expect(acrSatisfies(null, [ACR.password])).toBe(false);
    expect(acrSatisfies('urn:example:gold', [ACR.password])).toBe(false);
    expect(acrSatisfies(ACR.mfa, ['urn:example:gold'])).toBe(false);
  });
});
