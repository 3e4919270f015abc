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


# What the migrations make that no model describes (migration 0010): the
# index of the audit log's words, on SQLite an FTS5 table (with its shadow
# tables), on PostgreSQL a trigram index on an expression.
_UNMODELLED_TABLE = "audit_words"
_UNMODELLED_INDEX = "ix_audit_events_words"


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """For comparing the schema with the models: leave out what no model describes."""
    if type_ == "index":
        return name != _UNMODELLED_INDEX
    unmodelled = name is not None and (name == _UNMODELLED_TABLE or name.startswith(_UNMODELLED_TABLE + "_"))
    return not (type_ == "table" and unmodelled)
