import hokan.models  # noqa: F401  (registers every table)
from hokan.kit.db import KeyringBase
from hokan.migrations._env import run

run(KeyringBase.metadata)
