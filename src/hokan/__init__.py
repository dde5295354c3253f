"""Hokan (保管): secure data storage for Japanese business software."""

__version__ = "0.1.0"
