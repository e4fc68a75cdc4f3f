import { describe, expect, it } from 'vitest';

import {
  ACR_MFA,
  ACR_PASSWORD,
  ACR_PHISHING_RESISTANT,
  acrOf,
  satisfiesAcrValues,
} from './assurance.js';

describe('acrOf', () => {
  it('derives the class of a sign-in from its methods', () => {
    expect(acrOf(['pwd'])).toBe(ACR_PASSWORD);
    expect(acrOf(['pwd', 'otp', 'mfa'])).toBe(ACR_MFA);
    expect(acrOf(['pwd', 'mfa'])).toBe(ACR_MFA);
    expect(acrOf(['pwd', 'hwk', 'mfa'])).toBe(ACR_PHISHING_RESISTANT);
    expect(acrOf(['swk', 'user'])).toBe(ACR_PHISHING_RESISTANT);
  });

  it('knows no class for unknown methods', () => {
    expect(acrOf(null)).toBeNull();
    expect(acrOf([])).toBeNull();
    expect(acrOf(['fed'])).toBeNull();
  });
});

describe('satisfiesAcrValues', () => {
  it('lets a stronger class satisfy a weaker request, never the reverse', () => {
    expect(satisfiesAcrValues(['pwd', 'otp', 'mfa'], [ACR_PASSWORD])).toBe(true);
    expect(satisfiesAcrValues(['pwd', 'hwk'], [ACR_MFA])).toBe(true);
    expect(satisfiesAcrValues(['pwd'], [ACR_MFA])).toBe(false);
    expect(satisfiesAcrValues(['pwd', 'otp', 'mfa'], [ACR_PHISHING_RESISTANT])).toBe(false);
  });

  it('is satisfied by any one of the values asked for, and by no unknown one', () => {
    expect(satisfiesAcrValues(['pwd'], [ACR_MFA, ACR_PASSWORD])).toBe(true);
    expect(satisfiesAcrValues(['pwd', 'otp', 'mfa'], ['urn:example:gold'])).toBe(false);
    expect(satisfiesAcrValues(null, [ACR_PASSWORD])).toBe(false);
  });
});
