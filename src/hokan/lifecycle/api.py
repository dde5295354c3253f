"""Lifecycle routes a tenant's people use: the one-time password setup (LIFE-1).

The export routes (LIFE-4) live in :mod:`hokan.lifecycle.export_api`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from hokan.httpkit.auth import AnonymousWork
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.identity.passwords import Passwords
from hokan.lifecycle import setup

router = Router(prefix="/api/v1", tags=["lifecycle"])


class PasswordSetupIn(BaseModel):
    token: str = Field(
        min_length=10, max_length=200, description="The token of the welcome mail's link"
    )
    password: str = Field(max_length=1024)


class PasswordSetupOut(BaseModel):
    serial: str
    name: str


@router.post(
    "/password-setup",
    response_model=PasswordSetupOut,
    summary="Choose the first password with the welcome mail's one-time link",
    responses={400: {"description": "setup_link_invalid: used, expired or wrong"}},
)
@waf_exclude(
    *EVERY_FAMILY, fields=["json.password", "json.token"], reason="hashed, never interpreted"
)
async def password_setup(body: PasswordSetupIn, work: AnonymousWork) -> PasswordSetupOut:
    """Set the first password of a new user (the link works once, for
    ``HOKAN_PASSWORD_SETUP_HOURS``); then log in with the serial and this password."""
    passwords = work.resolve(Passwords)

    def run(s: object) -> PasswordSetupOut:
        user = setup.consume(s, passwords, body.token, body.password)  # type: ignore[arg-type]
        return PasswordSetupOut(serial=user.serial, name=user.display_name)

    return await work(run)
