import hokan.models  # noqa: F401  (registers every table)
from hokan.kit.db import VaultStoreBase
from hokan.migrations._env import run

run(VaultStoreBase.metadata)
