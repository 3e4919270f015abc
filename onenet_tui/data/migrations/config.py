"""Alembic configured in code, so no alembic.ini has to be found at run time."""

from __future__ import annotations

from importlib import resources

from alembic.config import Config
from sqlalchemy.engine import Connection


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("onenet_tui.data") / "migrations"))
    config.attributes["connection"] = connection
    return config
