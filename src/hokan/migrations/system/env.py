import hokan.models  # noqa: F401  (registers every table)
from hokan.kit.db import Base
from hokan.migrations._env import run

run(Base.metadata)
