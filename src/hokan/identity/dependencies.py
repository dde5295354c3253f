"""Moved to :mod:`hokan.httpkit.auth` (transitional re-export, removed with issue 11)."""

from __future__ import annotations

from starlette.requests import Request

from hokan.httpkit.auth import (
    AnyOperator,
    AnyOperatorWork,
    Auditor,
    AuditorWork,
    AuditReader,
    Authenticated,
    AuthenticatedWork,
    BearerDoc,
    CollectionsManager,
    GrantsManager,
    ManageCollections,
    ManageGrants,
    ManageUsers,
    OperationsManager,
    OperationsManagerWork,
    OperatorSupervisor,
    OperatorSupervisorWork,
    OperatorWork,
    ReadAudit,
    ReadRecords,
    RecordsReader,
    RecordsWriter,
    UsersManager,
    WriteRecords,
    admitted,
    authenticated,
    operator_with,
    operator_work,
    requires,
    work_of,
    work_requiring,
)
from hokan.principals import Principal

__all__ = [
    "AnyOperator",
    "AnyOperatorWork",
    "AuditReader",
    "Auditor",
    "AuditorWork",
    "Authenticated",
    "AuthenticatedWork",
    "BearerDoc",
    "CollectionsManager",
    "GrantsManager",
    "ManageCollections",
    "ManageGrants",
    "ManageUsers",
    "OperationsManager",
    "OperationsManagerWork",
    "OperatorSupervisor",
    "OperatorSupervisorWork",
    "OperatorWork",
    "ReadAudit",
    "ReadRecords",
    "RecordsReader",
    "RecordsWriter",
    "UsersManager",
    "WriteRecords",
    "admitted",
    "authenticated",
    "operator_with",
    "operator_work",
    "requires",
    "work_of",
    "work_requiring",
]


async def _authenticate(request: Request) -> Principal:
    principal: Principal = await request.app.state.runtime.authenticate(request)
    return principal
