"""Encrypted generational backups, verification and restore (issue 15, BAK-1..5, ADR 0021)."""
