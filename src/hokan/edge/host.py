"""What the edge needs of the process's runtime, as a protocol.

``hokan.runtime.Runtime`` implements it; the edge never imports the composition
root, so the package graph has no upward edge (issue 11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from hokan.httpkit.context import Host

if TYPE_CHECKING:
    from hokan.certificates.ca import CertificateAuthority
    from hokan.edge.admission import TenantNetworks
    from hokan.edge.ips import Ips
    from hokan.edge.refusals import RefusalLog
    from hokan.edge.waf.service import Waf
    from hokan.identity.credential_cache import CredentialCache
    from hokan.identity.spraying import SprayingDetector
    from hokan.keyring.service import Keyring
    from hokan.kit.db import Database


class EdgeHost(Host, Protocol):
    @property
    def keyring_db(self) -> Database: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def ips(self) -> Ips: ...

    @property
    def waf(self) -> Waf: ...

    @property
    def spraying(self) -> SprayingDetector: ...

    @property
    def ca(self) -> CertificateAuthority: ...

    @property
    def tenant_networks(self) -> TenantNetworks: ...

    @property
    def edge_refusals(self) -> RefusalLog: ...

    @property
    def credential_cache(self) -> CredentialCache: ...
