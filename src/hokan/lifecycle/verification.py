"""Proof of disposal (LIFE-2): nothing of the tenant is left anywhere Hokan keeps data.

* no row with the tenant's id in any tenant-owned table of the system database,
  the keyring or any vault store (tables listed from the models' metadata, so a
  table added later is checked without anyone remembering it);
* no object under the tenant's prefix in the blob store;
* the live keyring cannot open the sample ciphertext, nor can the keyring of any
  backup generation that still exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hokan.backup import shred
from hokan.keyring.errors import DecryptionFailed, TenantKeyMissing, TenantKeysDestroyed
from hokan.keyring.service import RECORDS, Sealed
from hokan.kit.clock import iso, utcnow
from hokan.lifecycle import repository

if TYPE_CHECKING:
    from hokan.lifecycle.disposal import Disposal


@dataclass
class Result:
    tables_checked: dict[str, int] = field(default_factory=dict)  # database -> tables
    rows_left: dict[str, int] = field(default_factory=dict)
    blobs_left: int = 0
    live_keyring: str = ""
    backups: list[dict[str, Any]] = field(default_factory=list)
    checked_at: str = ""
    sample: bool = False

    @property
    def problems(self) -> list[str]:
        out = [f"rows:{name}={n}" for name, n in sorted(self.rows_left.items())]
        if self.blobs_left:
            out.append(f"blobs={self.blobs_left}")
        if self.live_keyring != "no_key":
            out.append(f"live_keyring={self.live_keyring}")
        out += [f"backup:{b['generation']}={b['result']}" for b in self.backups if not b["ok"]]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at,
            "tables_checked": self.tables_checked,
            "rows_left": self.rows_left,
            "blobs_left": self.blobs_left,
            "live_keyring": self.live_keyring,
            "sample_ciphertext": self.sample,
            "backups": self.backups,
            "problems": self.problems,
        }


def _probe_sample(tenant_id: uuid.UUID, sample: shred.Sample | None) -> shred.Sample:
    # Without a stored revision, an empty one still asks the keyring for the tenant's key.
    return sample or shred.Sample(tenant_id, RECORDS, {}, Sealed(1, b"", b""))


def verify(disposal: Disposal, tenant_id: uuid.UUID, sample: shred.Sample | None) -> Result:
    result = Result(checked_at=iso(utcnow()), sample=sample is not None)
    system = repository.system_tables()
    with disposal.db.session(system=True) as s:
        result.rows_left.update(repository.remaining(s, system, tenant_id))
    keyring = repository.keyring_tables()
    with disposal.keyring.db.session() as s:
        left = repository.remaining(s, keyring, tenant_id)
        result.rows_left.update({f"keyring.{k}": v for k, v in left.items()})
    vault = repository.vault_tables()
    for i, db in enumerate(disposal.vault_stores.dbs, 1):
        with db.session() as s:
            left = repository.remaining(s, vault, tenant_id)
            result.rows_left.update({f"vault{i}.{k}": v for k, v in left.items()})
    result.tables_checked = {
        "system": len(system),
        "keyring": len(keyring),
        "vault": len(vault) * len(disposal.vault_stores.dbs),
    }
    result.blobs_left = sum(1 for _ in disposal.blobs.keys(f"{tenant_id}/"))
    probe = _probe_sample(tenant_id, sample)
    try:
        disposal.keyring.open(probe.tenant_id, probe.purpose, probe.context, probe.sealed)
        result.live_keyring = "decrypts"
    except (TenantKeyMissing, TenantKeysDestroyed):
        result.live_keyring = "no_key"
    except DecryptionFailed:
        result.live_keyring = "does_not_open"
    result.backups = [
        {**b, "ok": b["result"] == "no_key"} for b in shred.probe(disposal.backups(), probe)
    ]
    return result
