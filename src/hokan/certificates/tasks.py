"""Scheduled certificate controls: the CRL the front checks terminals against (EDGE-1).

``certificates.publish_crl`` runs every minute but writes only when a certificate
was revoked since the file was written, or the file is a day old: a revocation
reaches the front within a minute, and the CRL never nears its expiry.
"""

from __future__ import annotations

import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hokan.certificates.ca import CertificateAuthority
from hokan.certificates.errors import CaMissing, CrlReloadFailed
from hokan.certificates.repository import CertificateRepository
from hokan.certificates.service import crl
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.settings import Settings

REPUBLISH_AFTER = timedelta(days=1)


def _written_at(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return None


def _publish_crl(host: JobHost) -> JobResult:
    settings = host.settings
    path = settings.resolved_crl_file
    written = _written_at(path)
    with host.db.session(system=True) as s:
        revoked = CertificateRepository(s, None).revoked()
        latest = max((when for _, when in revoked), default=None)
        stale = (
            written is None
            or (latest is not None and latest >= written)
            or host.now() - written >= REPUBLISH_AFTER
        )
        if not stale:
            return JobResult.skipped("current")
        try:
            pem = crl(s, host.resolve(CertificateAuthority), settings.crl_days)
        except CaMissing:  # no terminal certificates on this installation yet
            return JobResult.skipped("ca_not_initialised")
    write_crl(settings, pem)
    return JobResult({"revoked": len(revoked)})


def write_crl(settings: Settings, pem: bytes) -> None:
    """Put the CRL where the front reads it (in one step) and run the reload command."""
    path = settings.resolved_crl_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(pem)
    tmp.replace(path)  # the front never reads a half-written file
    if settings.crl_reload_command:
        try:
            command = shlex.split(settings.crl_reload_command)
            # The operator's own command from settings, run without a shell.
            subprocess.run(command, check=True, timeout=60, capture_output=True)  # noqa: S603
        except (OSError, subprocess.SubprocessError) as exc:
            raise CrlReloadFailed() from exc


PUBLISH_CRL = Job(
    "certificates.publish_crl",
    "every 1m",
    _publish_crl,
    "失効リスト (CRL) を公開: 失効の直後と毎日",
    "Publish the certificate revocation list: right after a revocation and daily",
    retry=True,
)

JOBS = (PUBLISH_CRL,)
