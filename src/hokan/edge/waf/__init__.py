"""The web application firewall (EDGE-3): normalise, match rule families, score, decide."""

from hokan.edge.waf.exclusions import EVERY_FAMILY, waf_exclude

__all__ = ["EVERY_FAMILY", "waf_exclude"]
