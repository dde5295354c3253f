"""The keyring: master key → per-tenant keys → per-object data keys (KEY-1..3)."""
