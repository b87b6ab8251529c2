"""Every table of the app; importing this package registers them all on ``SQLModel.metadata``."""

from db.models.base import *  # noqa: F401,F403
from db.models.core import *  # noqa: F401,F403
from db.models.focas import *  # noqa: F401,F403
from db.models.qsip import *  # noqa: F401,F403
from db.models.selection import *  # noqa: F401,F403
from db.models.entry import *  # noqa: F401,F403
