"""Settings from the command line, the environment and the config file.

Precedence: option, then environment (``ONENET_DB_URL``, ``ONENET_LANG``,
``ONENET_OPERATOR``, ``ONENET_EXPORT_DIR``), then the TOML config file, then
defaults. The file lives in the user's config directory (``ONENET_CONFIG``
points elsewhere)::

    db_url = "postgresql://onenet@db.example.net/onenet"
    lang = "de"
    export_dir = "/srv/onenet/exports"   # the only place the console saves to
    support_contact = "One Net Business support: 0800 123 4567, support@example.net"

    [keys]              # remap console keys: action id = "key[,key]"
    filter = "slash"
    mark = "space,x"
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from onenet_tui.i18n import DEFAULT_LANGUAGE, LANGUAGES

APP_NAME = "onenet-tui"
DB_FILE = "onenet.db"


def config_path() -> Path:
    explicit = os.environ.get("ONENET_CONFIG")
    if explicit:
        return Path(explicit)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


class ConfigError(ValueError):
    """The config file cannot be read; the message names the file and the problem."""


def read_config_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    db_url: str
    lang: str
    operator: str
    keys: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    export_dir: Path | None = None


def default_db_url() -> str:
    """The database of one administrator's own tenant, beside their exports.
    Here, not in the storage module: the console's start imports no SQLAlchemy."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir(APP_NAME)) / DB_FILE}"


def default_export_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "exports"


def export_dir(file: dict[str, object] | None = None) -> Path:
    """Where the console saves files (the export directory rule):
    ``ONENET_EXPORT_DIR``, else ``export_dir`` in the config file, else a
    folder in the user's data directory. ``~`` is expanded; a relative
    setting is taken from the home directory, not from wherever the console
    was started."""
    if file is None:
        file = read_config_file(config_path())
    chosen = os.environ.get("ONENET_EXPORT_DIR") or str(file.get("export_dir") or "")
    if not chosen:
        return default_export_dir()
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else Path.home() / path


SUPPORT_CONTACT_MAX = 200


def support_contact(file: dict[str, object] | None = None) -> str | None:
    """How to reach the One Net Business team (``support_contact`` in the
    config file), shown where the console advises contacting them; None when
    it is not set, not a text, or the file cannot be read."""
    if file is None:
        try:
            file = read_config_file(config_path())
        except ConfigError:
            return None
    value = file.get("support_contact")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:SUPPORT_CONTACT_MAX]


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def resolve(db: str | None = None, lang: str | None = None, operator: str | None = None) -> Settings:
    path = config_path()
    file = read_config_file(path)
    db_url = db or os.environ.get("ONENET_DB_URL") or str(file.get("db_url") or "") or default_db_url()
    language = lang or os.environ.get("ONENET_LANG") or str(file.get("lang") or "") or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise ConfigError(f"language {language!r}: choose one of {', '.join(LANGUAGES)}")
    who = operator or os.environ.get("ONENET_OPERATOR") or login_name()
    keys = file.get("keys") or {}
    if not isinstance(keys, dict):
        raise ConfigError(f'{path}: [keys] must be a table of action = "key"')
    return Settings(db_url, language, who, dict(key_table(keys)), path, export_dir(file))


def key_table(table: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """``[keys]`` as id -> keys. Ids with a dot (``wizard.next``) may be
    written unquoted: TOML reads those as a nested table, made flat again."""
    found: list[tuple[str, str]] = []
    for name, value in table.items():
        if isinstance(value, dict):
            found += key_table(value, f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", str(value)))
    return found
