"""Malware scanning of uploads (EDGE-6): the built-in YARA rules and ClamAV's daemon.

Its own small package, below the records and vault domains it serves.
"""
