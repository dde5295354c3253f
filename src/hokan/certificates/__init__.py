"""Terminal certificates (EDGE-1): Hokan's client-certificate CA, issuance, revocation, CRL."""
