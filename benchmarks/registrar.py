"""Kamailio answering REGISTERs with digest authentication (SPEC section 13):
the console's view against Kamailio's own ``subscriber`` table.

    python benchmarks/registrar.py [--db URL] [--users 100000] [--registrations 20000] [--rate 20000] [--runs 3]

A tenant of ``--users`` users (about four in five with a desk phone) is built
in a PostgreSQL schema of its own (dropped afterwards), every desk phone user
gets new system-generated credentials by a bulk reset (R10), and Kamailio's
reference table ``subscriber`` (Kamailio's own schema script) is filled with
the same users' HA1 digests. Then the same Kamailio configuration, the
shipped one, runs twice per round: (a) reading ``registrar_subscriber``
through the registrar role, (b) reading ``subscriber``; SIPp plays
``deploy/sipp/register.xml`` (401 challenge, then the authenticated REGISTER)
for ``--registrations`` phones chosen at random, 64 in flight at a time (at
most ``--rate`` new ones a second): a closed loop, so the figure is what
Kamailio sustains. The figure is successful registrations per second of
wall time, the median of ``--runs`` rounds, (a) and (b) alternating;
target: (a) at most 20 % slower than (b).

The injection file with the passwords lives in a temporary folder and is
deleted with it. Needs kamailio, kamailio-postgres-modules and sip-tester.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import build_tenant  # noqa: E402
from onenet_tui.data import credentials, registrar  # noqa: E402
from onenet_tui.data.context import Actor, Context  # noqa: E402
from onenet_tui.data.models import DeviceType, Role, User  # noqa: E402
from onenet_tui.data.storage import Store  # noqa: E402
from tests.sip import free_udp_port, injection_line, sip_answers, stop_group  # noqa: E402

ADMIN = Actor("bench", Role.ADMIN)
# Registrations in flight at once: a closed loop, so that the figure is what
# Kamailio sustains, not how it copes with an offered rate it cannot meet.
LIMIT = 64
DEFAULT_DB = os.environ.get("ONENET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REFERENCE_DDL = Path("/usr/share/kamailio/postgres/auth_db-create.sql")
SCENARIO = Path(__file__).resolve().parents[1] / "deploy" / "sipp" / "register.xml"
_COUNTER = re.compile(r"^\s*(Successful call|Failed call)\s+\|\s+\d+\s+\|\s+(\d+)", re.MULTILINE)


def reference_table(conn: object) -> None:
    """Kamailio's own subscriber table, as its schema script makes it (less its version row)."""
    ddl = REFERENCE_DDL.read_text() if REFERENCE_DDL.exists() else ""
    statements = [s for s in ddl.split(";") if s.strip() and "INSERT INTO version" not in s]
    if not statements:
        sys.exit(f"{REFERENCE_DDL} is missing: install kamailio-postgres-modules")
    for statement in statements:
        conn.exec_driver_sql(statement)  # type: ignore[attr-defined]


def setup(base: str, users: int, folder: Path) -> tuple[str, str, Path, registrar.RegistrarRole]:
    schema = f"bench_registrar_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    started = time.perf_counter()
    build_tenant(url, users)
    store = Store(url)
    ctx = Context(store, ADMIN)
    with store.read() as session:
        ids = list(session.execute(select(User.id).where(User.device_type == DeviceType.DESK_PHONE.value)).scalars())
    result = credentials.bulk_reset(ctx, ids)
    with store.transaction() as session:
        reference_table(session.connection())
        session.execute(
            text(
                "INSERT INTO subscriber (username, domain, ha1, ha1b)"
                " SELECT username, domain, ha1, ha1_sha256 FROM registrar_subscriber"
            )
        )
        session.execute(text("ANALYZE"))
        registrable = set(session.execute(text("SELECT username FROM registrar_subscriber")).scalars())
    phones = [i for i in result.issued if i.sip_username in registrable]
    random.Random(1).shuffle(phones)
    inject = folder / "phones.csv"
    with inject.open("w") as out:
        out.write("SEQUENTIAL\n")
        for p in phones:
            out.write(injection_line(p.sip_username, p.sip_domain, p.password, "127.0.0.1:9") + "\n")
    made = registrar.create_role(ctx, f"bench_reg_{uuid.uuid4().hex[:8]}")
    with store.transaction() as session:
        session.connection().exec_driver_sql(f"GRANT SELECT ON subscriber TO {made.role}")
    store.dispose()
    print(
        f"tenant: {users:,} users, {len(result.issued):,} desk phones, {len(phones):,} may register"
        f" (built in {time.perf_counter() - started:.0f} s)"
    )
    return schema, url, inject, made


def kamailio(folder: Path, url: str, role: str, table: str, pgpass: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_udp_port()
    config = registrar.kamailio_config(url, listen=f"127.0.0.1:{port}", role=role)
    if table != registrar.VIEW:
        config = config.replace(f'"{registrar.VIEW}"', f'"{table}"')
        config = "\n".join(line for line in config.splitlines() if "load_credentials" not in line) + "\n"
    path = folder / f"{table}.cfg"
    path.write_text(config)
    runtime = folder / f"run-{table}"
    runtime.mkdir(exist_ok=True)
    process = subprocess.Popen(
        ["kamailio", "-f", str(path), "-DD", "-E", "-n", "4", "-Y", str(runtime), "-P", str(runtime / "pid")],
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"{table}.log").open("ab"),
        env={**os.environ, "PGPASSFILE": str(pgpass)},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not sip_answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"Kamailio did not start, see {folder / f'{table}.log'}")
    return process, port


def register(folder: Path, port: int, inject: Path, count: int, rate: int) -> tuple[float, int, int]:
    """Registrations per second, successes and failures of one SIPp run."""
    args = ["sipp", f"127.0.0.1:{port}", "-sf", str(SCENARIO), "-inf", str(inject), "-m", str(count)]
    args += ["-r", str(rate), "-l", str(LIMIT), "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin"]
    args += ["-cp", str(free_udp_port()), "-mp", str(free_udp_port()), "-timeout", "300s", "-recv_timeout", "10000"]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=400)
    elapsed = time.perf_counter() - started
    counters = dict(_COUNTER.findall(done.stdout))
    ok, failed = int(counters.get("Successful call", 0)), int(counters.get("Failed call", 0))
    return ok / elapsed, ok, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB, help="a PostgreSQL database (a schema of its own is used)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--registrations", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=20000, help="REGISTERs per second at most (LIMIT in flight)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for tool in ("kamailio", "sipp"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (Debian: kamailio kamailio-postgres-modules sip-tester)")
    base = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    with tempfile.TemporaryDirectory(prefix="onenet-registrar-") as tmp:
        folder = Path(tmp)
        schema, url, inject, made = setup(base, args.users, folder)
        pgpass = folder / "pgpass"
        pgpass.write_text(made.pgpass_line + "\n")
        pgpass.chmod(0o600)
        figures: dict[str, list[float]] = {registrar.VIEW: [], "subscriber": []}
        try:
            for run in range(args.runs):
                for table in (registrar.VIEW, "subscriber") if run % 2 == 0 else ("subscriber", registrar.VIEW):
                    process, port = kamailio(folder, url, made.role, table, pgpass)
                    try:
                        rate, ok, failed = register(folder, port, inject, args.registrations, args.rate)
                    finally:
                        stop_group(process)
                    print(f"run {run + 1} {table:>20}: {rate:7.0f} registrations/s ({ok:,} ok, {failed:,} failed)")
                    figures[table].append(rate)
        finally:
            admin = create_engine(base)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                conn.execute(text(f"DROP OWNED BY {made.role}"))
                conn.execute(text(f"DROP ROLE {made.role}"))
            admin.dispose()
    view, reference = (statistics.median(figures[t]) for t in (registrar.VIEW, "subscriber"))
    print(f"\nmedian of {args.runs}: console view {view:.0f}/s, Kamailio subscriber {reference:.0f}/s")
    print(f"the console's view is {100 * (1 - view / reference):+.1f} % slower (target: at most 20 %)")


if __name__ == "__main__":
    main()
