"""The web console (UI-1, UI-2): server-rendered pages over the same services, sessions
and rules as the API (ADR 0026)."""
