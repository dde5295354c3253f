"""Shared plumbing only: databases, crypto, errors, clock, pagination, logging."""
