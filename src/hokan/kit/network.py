"""IP address helpers shared by the domains (operator network, allow-lists)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address


def in_networks(address: str, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    """Whether ``address`` (text, possibly IPv4-mapped IPv6) lies in any of ``networks``."""
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
