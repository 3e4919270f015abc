"""A real SIP registrar on the console's database (SPEC section 13, R24).

Kamailio reads the view ``registrar_subscriber`` (migration 0008 says who
may register and how the view stays current) through a login role of its
own that may read that view and nothing else. This module creates that role
and fills in the shipped Kamailio configuration for the current database.
PostgreSQL only: the SQLite default has no registrar.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from onenet_tui.data import audit
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput, RuleRefused
from onenet_tui.data.policy import Action, enforce

VIEW = "registrar_subscriber"
DEFAULT_ROLE = "onenet_registrar"
DEFAULT_LISTEN = "127.0.0.1:5060"
DEFAULT_GATEWAY = "sip:127.0.0.1:5070"
# Package data, so an installed wheel has it too; deploy/kamailio/kamailio.cfg
# is a link to this one file (the one copy to edit).
CONFIG_FILE = "kamailio.cfg"
# A plain PostgreSQL identifier: nothing to quote, nothing that could end a
# statement or a line of the configuration.
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DBNAME = re.compile(r"[A-Za-z0-9_.-]{1,63}")
# SCRAM-SHA-256 as PostgreSQL computes it (RFC 5802/7677, 4096 rounds): the
# server only ever sees the verifier, so no log line can carry the password.
_SCRAM_ROUNDS = 4096
_INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class RegistrarRole:
    """The created role; its password is shown once and never stored."""

    role: str
    schema: str
    host: str
    port: int
    database: str
    password: str = field(repr=False)

    @property
    def pgpass_line(self) -> str:
        """``host:port:database:role:password``, as libpq's password file wants it."""
        return f"{self.host}:{self.port}:{self.database}:{self.role}:{self.password}"


def role_name(value: str) -> str:
    if not _ROLE.fullmatch(value):
        raise InvalidInput.single("role", "registrar.role_invalid", value=value)
    return value


def _require_postgres(url: str) -> None:
    if make_url(url).get_backend_name() != "postgresql":
        raise RuleRefused("R24", "registrar.needs_postgres")


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _SCRAM_ROUNDS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${_SCRAM_ROUNDS}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def _endpoint(url: str) -> tuple[str, int, str]:
    """Host, port and database of ``url``, checked so that they can go into a
    configuration line and a ``.pgpass`` line as they are."""
    parsed = make_url(url)
    host = parsed.host or "localhost"
    database = parsed.database or ""
    if not _HOST.fullmatch(host):
        raise InvalidInput.single("db", "registrar.db_host_invalid", value=host)
    if not _DBNAME.fullmatch(database):
        raise InvalidInput.single("db", "registrar.db_name_invalid", value=database)
    return host, parsed.port or 5432, database


def create_role(ctx: Context, role: str = DEFAULT_ROLE) -> RegistrarRole:
    """Create, or update, the registrar's login role with a new password:
    SELECT on the registrar view only, its search path set to the console's
    schema. Refuses a role that could do more than read (a superuser, the
    console's own user, a member of another role): its password and rights
    are not ours to change."""
    enforce(Action.MANAGE_REGISTRAR, ctx.actor.role)
    role = role_name(role)
    _require_postgres(ctx.store.url)
    host, port, database = _endpoint(ctx.store.url)
    password = secrets.token_urlsafe(24)
    verifier = scram_verifier(password)
    try:
        with ctx.store.transaction() as session:
            schema = session.execute(text("SELECT current_schema()")).scalar_one()
            me = session.execute(text("SELECT current_user")).scalar_one()
            found = session.execute(
                text(
                    "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls"
                    # A member of another role (pg_read_all_data, the console's owner) could SET ROLE to it.
                    " OR EXISTS (SELECT 1 FROM pg_auth_members AS m WHERE m.member = r.oid)"
                    " FROM pg_roles AS r WHERE rolname = :role"
                ),
                {"role": role},
            ).first()
            if role == me or (found is not None and found[0]):
                raise RuleRefused("R24", "registrar.role_too_powerful", role=role)
            # The verifier is base64 and '$:' only, the role a plain identifier: safe to inline in DDL.
            # (Sent as they are: the verifier's ':' must not read as a bind parameter.)
            verb = "ALTER" if found is not None else "CREATE"
            quoted = '"' + schema.replace('"', '""') + '"'
            ddl = session.connection().exec_driver_sql
            ddl(f"{verb} ROLE {role} LOGIN NOINHERIT PASSWORD '{verifier}'")
            ddl(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quoted} FROM {role}")
            ddl(f"GRANT USAGE ON SCHEMA {quoted} TO {role}")
            ddl(f"GRANT SELECT ON {quoted}.{VIEW} TO {role}")
            ddl(f"ALTER ROLE {role} SET search_path = {quoted}")
            audit.record(session, ctx.actor, "registrar.create_role", role, schema=schema, created=found is None)
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
            raise RuleRefused("R24", "registrar.no_createrole") from None
        raise
    return RegistrarRole(role, schema, host, port, database, password)


# --- the Kamailio configuration ---------------------------------------------

_LISTEN = re.compile(r"(?P<host>[^:\[\]]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
_GATEWAY = re.compile(r"sips?:(?:[A-Za-z0-9._~+-]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# The marked lines of the shipped file; nothing else is ever touched.
_MARKS = {
    "ONENET_DB_URL": re.compile(r'^#!define ONENET_DB_URL "[^"\n]*"$', re.MULTILINE),
    "ONENET_LISTEN": re.compile(r"^#!substdef \"!ONENET_LISTEN![^!\n]*!g\"$", re.MULTILINE),
    "ONENET_GATEWAY": re.compile(r'^#!define ONENET_GATEWAY "[^"\n]*"$', re.MULTILINE),
}


def shipped_config() -> str:
    """The configuration shipped with the console, as it is."""
    return resources.files(__package__ or "onenet_tui.data").joinpath(CONFIG_FILE).read_text(encoding="utf-8")


def listen_address(value: str) -> str:
    """``HOST:PORT`` (``[v6]:PORT``) as Kamailio's ``listen`` wants it, or a clear refusal."""
    match = _LISTEN.fullmatch(value)
    host = match.group("host") if match else ""
    if not match or not (host.startswith("[") or _HOST.fullmatch(host)) or not 0 < int(match.group("port")) < 65536:
        raise InvalidInput.single("listen", "registrar.listen_invalid", value=value)
    return f"udp:{value}"


def gateway_uri(value: str) -> str:
    if not _GATEWAY.fullmatch(value):
        raise InvalidInput.single("gateway", "registrar.gateway_invalid", value=value)
    return value


def kamailio_config(
    url: str,
    *,
    listen: str = DEFAULT_LISTEN,
    role: str = DEFAULT_ROLE,
    gateway: str = DEFAULT_GATEWAY,
    template: str | None = None,
) -> str:
    """The shipped configuration with its three marked values filled in for
    the database at ``url``. The db_url carries no password: libpq reads it
    from ``PGPASSFILE`` or ``~/.pgpass``."""
    _require_postgres(url)
    values = {
        "ONENET_DB_URL": f'#!define ONENET_DB_URL "postgres://{role_name(role)}@{_db_location(url)}"',
        "ONENET_LISTEN": f'#!substdef "!ONENET_LISTEN!{listen_address(listen)}!g"',
        "ONENET_GATEWAY": f'#!define ONENET_GATEWAY "{gateway_uri(gateway)}"',
    }
    config = shipped_config() if template is None else template
    for mark, pattern in _MARKS.items():
        config, found = pattern.subn(values[mark], config)
        if found != 1:
            raise RuntimeError(f"the Kamailio configuration must mark {mark} exactly once, found {found}")
    return config


def _db_location(url: str) -> str:
    host, port, database = _endpoint(url)
    return f"{host}:{port}/{database}"
