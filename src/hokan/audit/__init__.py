"""The tamper-evident operation log (AUD-1..3): record, chain, verify."""
