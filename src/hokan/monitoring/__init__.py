"""Monitoring (MON-7, §1-4-1): the request metrics, ``/metrics``, and the weekly
performance sample computed from periodic snapshots of the counters."""
