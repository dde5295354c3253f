"""Edge tests choose their settings with ``@pytest.mark.edge_settings(...)`` and their
socket peer with :func:`app_client` (admission and trusted-proxy decisions depend on it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.runtime import Runtime
from hokan.settings import Settings


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Settings], blocking: str
) -> Settings:
    overrides: dict[str, Any] = {"blocking": blocking}
    for marker in reversed(list(request.node.iter_markers("edge_settings"))):
        overrides.update(marker.kwargs)
    return settings_factory(**overrides)


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    """``app_client("133.1.1.1")``: a client whose requests come from that socket peer."""
    stack = ExitStack()
    app = create_app(runtime=runtime)

    def make(peer: str) -> TestClient:
        return stack.enter_context(TestClient(app, client=(peer, 40000)))

    with stack:
        yield make
