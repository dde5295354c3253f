"""Reports (REP-1..3): the weekly operations report, the availability report and the
security whitepaper regenerated from live settings and data."""
