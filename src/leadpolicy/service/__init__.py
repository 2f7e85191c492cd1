"""The decision service (`leadpolicy serve`): policies served over HTTP, reloaded when they change."""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette


def app_from_environment() -> Starlette:
    """The app for a uvicorn worker, from the settings `leadpolicy serve` left in the environment."""
    from leadpolicy.service.app import Settings, create_app

    data = json.loads(os.environ["LEADPOLICY_SERVE_SETTINGS"])
    log = data.pop("decision_log")
    return create_app(Settings(**data, decision_log=Path(log) if log else None))
