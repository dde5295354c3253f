"""XML bodies: parsed only through ``defusedxml``, DOCTYPE and entities refused.

Any XML Hokan parses goes through :func:`parse`, which forbids DTDs, entity
declarations and external references (XXE, billion laughs). The WAF reports the
refusal as a rule hit and inspects the text and attribute values of an accepted
document like any other field.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from hokan.edge.waf.extract import Field, safe_name
from hokan.edge.waf.model import CRITICAL, Hit

XML_TYPES = ("application/xml", "text/xml")


def is_xml(media_type: str) -> bool:
    return media_type in XML_TYPES or media_type.endswith("+xml")


def parse(raw: bytes) -> Element:
    """Parse untrusted XML: DTDs, entities and external references raise."""
    return fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def inspect(raw: bytes) -> tuple[list[Hit], list[Field]]:
    try:
        root = parse(raw)
    except DTDForbidden:
        return [Hit("xml-doctype", "xml", CRITICAL, "xml")], []
    except EntitiesForbidden:
        return [Hit("xml-entity", "xml", CRITICAL, "xml")], []
    except ExternalReferenceForbidden:
        return [Hit("xml-external-reference", "xml", CRITICAL, "xml")], []
    except (ParseError, ValueError):
        return [Hit("xml-malformed", "xml", CRITICAL, "xml")], []
    return [], list(_fields(root))


def _fields(root: Element) -> Iterator[Field]:
    for count, element in enumerate(root.iter()):
        if count > 5_000:
            return
        tag = element.tag if isinstance(element.tag, str) else "?"
        label = safe_name("xml", tag.rsplit("}", 1)[-1])
        if element.text and element.text.strip():
            yield Field(label, element.text)
        for key, value in element.attrib.items():
            yield Field(f"{label}@{safe_name('a', key)[2:]}", value)
        if element.tail and element.tail.strip():
            yield Field(label, element.tail)
