"""The intrusion prevention system (EDGE-4): rate limits, bans, slow and oversized requests."""

from hokan.edge.ips.service import Ips
from hokan.edge.ips.store import (
    Ban,
    FallbackIpsStore,
    IpsStore,
    MemoryIpsStore,
    RedisIpsStore,
)

__all__ = ["Ban", "FallbackIpsStore", "Ips", "IpsStore", "MemoryIpsStore", "RedisIpsStore"]
