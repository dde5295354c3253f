"""An authenticated operator: the principal plus what the consent-grant check needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from hokan.models import OperatorKind
from hokan.principals.principal import Principal


@dataclass(frozen=True)
class OperatorIdentity:
    """An authenticated operator, with what the grant check needs to know."""

    principal: Principal
    kind: OperatorKind
    bound_tenant: uuid.UUID | None  # temporary accounts: the tenant of the request
    expires_at: datetime | None
