"""Identity: who is calling (principals), API tokens, and the auth dependencies."""
