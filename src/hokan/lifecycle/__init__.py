"""Tenant lifecycle (LIFE-1..4): onboarding, export, termination and disposal, the
data erasure certificate (データ消去証明書)."""
