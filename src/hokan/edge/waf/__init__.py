"""The web application firewall (EDGE-3): normalise, match rule families, score, decide."""

from hokan.edge.waf.exclusions import waf_exclude

__all__ = ["waf_exclude"]
