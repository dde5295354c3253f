"""The canonical form is stable: orjson's output equals the documented json.dumps form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hokan.audit.canonical import FIELDS, canonical_bytes, check_detail, entry_hash

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text())
details = st.dictionaries(st.text(), st.one_of(scalars, st.lists(scalars, max_size=4)), max_size=5)


def _entry(detail: dict[str, object], text: str) -> dict[str, object]:
    entry: dict[str, object] = dict.fromkeys(FIELDS, text)
    entry.update(
        id=uuid.UUID(int=1),
        seq=7,
        occurred_at=datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC),
        tenant_id=None,
        detail=detail,
    )
    return entry


@given(detail=details, text=st.text())
def test_canonical_bytes_match_the_documented_json_form(
    detail: dict[str, object], text: str
) -> None:
    entry = _entry(check_detail(detail), text)
    body = {name: entry[name] for name in FIELDS}
    body.update(id=str(entry["id"]), occurred_at="2026-11-25T09:00:00.123456Z")
    documented = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(entry) == documented.encode()


def test_known_vector() -> None:
    # Pinned: a change to the canonical form or the hash breaks every stored chain.
    entry = _entry({"revision": 3, "名前": "山田"}, "x")
    entry["prev_hash"] = "0" * 64
    assert canonical_bytes(entry).startswith(b'{"action":"x","actor_id":"x"')
    assert entry_hash(entry) == "2604699675247415954ab2cd9a49ac8621bc3720146c26587083c9c5246f8ff8"


def test_floats_and_nested_objects_are_refused() -> None:
    with pytest.raises(TypeError):
        check_detail({"ratio": 0.5})
    with pytest.raises(TypeError):
        check_detail({"nested": {"a": 1}})
