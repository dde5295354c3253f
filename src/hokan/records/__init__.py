"""System data: per-tenant collections of JSON records (REC-1..3, REC-5)."""
