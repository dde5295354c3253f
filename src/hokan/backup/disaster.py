"""Disaster recovery and in-place restore from the installation's own settings (BAK-4, BAK-5,
ADR 0023).

Disaster recovery: a fresh machine holds the settings (the same ``HOKAN_PUBLIC_URL``, data
dir and database URLs), the master key and access to the remote target. The newest system
generation there (or the one named) is restored into the *empty* destinations the settings
name — the keyring first (it is the keyring backup: KEY-2), then the system database, the
blob store and the server's TLS files — and the newest vault generation's fragment stores
beside it, under the same restored keyring. Then the restored row counts are compared with
the signed manifest's.

In place: the same destinations, but the files replaced are moved aside first
(``DATA_DIR.before-restore-<time>``), PostgreSQL databases are restored ``--clean`` in one
transaction. The service must be stopped (the runbook says so).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from hokan.backup import errors, restoring, retention
from hokan.backup.service import (
    KEYRING_FILE,
    SYSTEM_FILE,
    Backups,
    _dialect,
    _sqlite_path,
    pg_facts,
    sqlite_facts,
)
from hokan.blobs import make_blob_store
from hokan.blobs.store import FolderBlobStore
from hokan.keyring.service import Keyring
from hokan.kit.db import Database, make_engine
from hokan.settings import Settings

Progress = Callable[[int], None]
SYSTEM_CLASSES = tuple(k for k in retention.CLASSES if k != retention.VAULT)


def destination(settings: Settings, *, in_place: bool) -> restoring.Destination:
    s = settings
    system = s.resolved_backup_database_url
    grant_to: dict[str, str] = {}
    app_user = make_url(s.resolved_database_url).username
    if _dialect(system) == "postgresql" and app_user:
        # The dumps carry no privileges: the service's role gets its table rights back on
        # every database restored as another (owner) role.
        for url in (system, s.resolved_keyring_url, *s.resolved_vault_store_urls):
            if _dialect(url) == "postgresql" and make_url(url).username != app_user:
                grant_to[url] = app_user
    return restoring.Destination(
        system=system,
        keyring=s.resolved_keyring_url,
        vault=list(s.resolved_vault_store_urls),
        blobs=make_blob_store(s),
        tls_dir=None if in_place else s.tls_dir,
        in_place=in_place,
        aside=restoring.aside_folder(s.data_dir) if in_place else None,
        grant_to=grant_to,
    )


def newest(backups: Backups, target: str, classes: tuple[str, ...]) -> str | None:
    for g in backups.generations(target_name=target):  # newest first
        if g.klass in classes:
            return g.name
    return None


def _facts(url: str) -> dict[str, int]:
    if _dialect(url) == "sqlite":
        return sqlite_facts(_sqlite_path(url)).row_counts
    return pg_facts(url).row_counts


def compare_counts(manifest: dict[str, Any], url: str) -> dict[str, Any]:
    """The restored system database's row counts against the signed manifest's."""
    expected = manifest.get("row_counts", {}).get(SYSTEM_FILE, {})
    found = _facts(url)
    differ = {
        t: {"manifest": n, "restored": found.get(t)}
        for t, n in expected.items()
        if found.get(t) != n
    }
    return {"tables": len(expected), "differ": differ}


def recover(
    backups: Backups,
    *,
    source: str = "remote",
    generation: str | None = None,
    vault_generation: str | None = None,
    with_vault: bool = True,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Rebuild this installation's data from ``source`` into its empty destinations."""
    s = backups.settings
    name = generation or newest(backups, source, SYSTEM_CLASSES)
    if name is None:
        raise errors.RestoreRefused("nothing", target=source)
    opened = restoring.open_generation(backups, name, source)
    made_with = opened.manifest.get("keys", {}).get("master_key_id")
    if made_with and made_with != backups.master.key_id:
        raise errors.RestoreRefused("master_key", generation=name, expected=str(made_with))
    vault_name = None
    if with_vault:
        vault_name = vault_generation or newest(backups, source, (retention.VAULT,))
    dest = destination(s, in_place=False)
    s.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    sizes = sum(f.size for f in opened.files)
    if vault_name:
        vault_opened = restoring.open_generation(backups, vault_name, source)
        sizes += sum(f.size for f in vault_opened.files if f.name != KEYRING_FILE)
    if total:
        total(sizes)
    with restoring.scratch_dir(s.data_dir) as scratch:
        result = restoring.restore(
            backups, name, dest, target=source, progress=progress, scratch=scratch
        )
        vault_result = None
        if vault_name:
            keyring = Keyring(
                Database(make_engine(dest.keyring, pool_size=1, create=False)), backups.master, 0
            )
            try:
                vault_result = restoring.restore(
                    backups,
                    vault_name,
                    dest,
                    target=source,
                    keyring=keyring,
                    progress=progress,
                    scratch=scratch,
                )
            finally:
                keyring.db.dispose()
    public_url = opened.manifest.get("public_url")
    return {
        "source": source,
        "generation": name,
        "vault_generation": vault_name,
        "files": result["files"] + (vault_result["files"] if vault_result else []),
        "bytes": result["bytes"] + (vault_result["bytes"] if vault_result else 0),
        "row_counts": compare_counts(opened.manifest, dest.system),
        "public_url": {
            "backup": public_url,
            "settings": s.resolved_public_url,
            "same": public_url in (None, s.resolved_public_url),
        },
        "tls_files": sorted(p.name for p in s.tls_dir.iterdir()) if s.tls_dir.is_dir() else [],
    }


def in_place(
    backups: Backups,
    generation: str,
    *,
    target: str | None = None,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Replace the live data with ``generation`` (the service stopped); returns the report
    with the folder the replaced files were moved to."""
    s = backups.settings
    dest = destination(s, in_place=True)
    assert dest.aside is not None
    folder_blobs = dest.blobs if isinstance(dest.blobs, FolderBlobStore) else None
    staged: Path | None = None
    if folder_blobs is not None:
        staged = folder_blobs.root.with_name(f".{folder_blobs.root.name}.restoring")
        dest.blobs = FolderBlobStore(staged)
    with restoring.scratch_dir(dest.aside.parent) as scratch:
        result = restoring.restore(
            backups,
            generation,
            dest,
            target=target,
            progress=progress,
            total=total,
            scratch=scratch,
        )
    if folder_blobs is not None and staged is not None:
        staged.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder_blobs.root.exists():
            dest.aside.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(folder_blobs.root, dest.aside / folder_blobs.root.name)
        os.replace(staged, folder_blobs.root)
    result["moved_aside_to"] = str(dest.aside) if dest.aside.exists() else None
    return result
