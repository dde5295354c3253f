"""Validated shapes of a tenant's contacts and security settings (TEN-1, IAM-4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network

from pydantic import BaseModel, ConfigDict, Field

from hokan.models import Product, TenantStatus
from hokan.tenants.contacts import Contact, ContactIn

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"


class TenantSettings(BaseModel):
    """Per-tenant security settings; defaults follow the whitepaper."""

    model_config = ConfigDict(extra="forbid")

    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    password_min_length: int = Field(default=12, ge=8, le=128)
    session_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    allowed_cidrs: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    mfa_required: bool = False
    dormant_days: int = Field(default=90, ge=7, le=3650)


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    product: Product
    contacts: list[ContactIn] = Field(default_factory=list)
    settings: TenantSettings = Field(default_factory=TenantSettings)


class TenantOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    product: Product
    status: TenantStatus
    contacts: list[Contact]
    settings: TenantSettings
    created_at: datetime
    updated_at: datetime
