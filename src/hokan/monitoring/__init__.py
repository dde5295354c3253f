"""Monitoring (MON-1..6, REP-2): probes, the liveness ledger, incidents and their
notices, maintenance windows, the status page and availability reports."""
