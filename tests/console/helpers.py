"""HTTP helpers for console tests: a client on https (the cookies are Secure), a form
login that keeps the session and CSRF cookies, and the console's route table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.console.guard import CSRF_COOKIE, OPERATOR_CSRF_COOKIE
from hokan.httpkit.routes import console_routes
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.console.conftest import PASSWORD, Person

# Pages anyone may open: the login pages, the language switch, assets, the not-found page.
PUBLIC = {
    "/console/login",
    "/console/ops/login",
    "/console/language",
    "/console/{rest:path}",
}


def routes() -> list[tuple[str, str]]:
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))  # routes only
    return [(m, p) for m, p in console_routes(app) if p not in PUBLIC]


@contextmanager
def console_client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(
        create_app(runtime=runtime),
        base_url="https://testserver",
        client=("127.0.0.1", 50000),
        follow_redirects=False,
    ) as c:
        yield c


def login(client: TestClient, person: Person, password: str = PASSWORD) -> Any:
    data = {"serial": person.serial, "password": password, "next": "/console"}
    if person.totp_secret:
        data["otp"] = person.code()
    return client.post("/console/login", data=data)


def csrf(client: TestClient, operator: bool = False) -> str:
    return str(client.cookies.get(OPERATOR_CSRF_COOKIE if operator else CSRF_COOKIE) or "")


def post(client: TestClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """A form post as the page sends it: with the CSRF token of the session."""
    operator = path.startswith("/console/ops")
    return client.post(path, data={"csrf_token": csrf(client, operator), **(data or {})}, **kw)


def fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), "1"), path)
