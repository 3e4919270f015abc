"""A million users (issue 20, item 2): the demo build and the streamed
``users list`` / ``users export``, as whole ``onenet-tui`` processes.

    python benchmarks/large_tenant.py [--users 1000000] [--db URL] [--rebuild]

The tenant is built by ``demo --force --users N`` on a fresh database (SQLite:
a new file under ``benchmarks/results/``; PostgreSQL: a new schema
``bench_large_tenant`` on the ``--db`` server) and kept there: the next run
reuses it unless ``--rebuild`` (or a different ``--users``) asks for a new
one, and then the build's own figures are those recorded when it was built.

Every figure is one process from start to exit, Python's start and imports
included: wall seconds, CPU seconds (user + system, which is what the wall
clock would be on an idle machine) and peak resident set (``wait4``'s
``ru_maxrss``). Memory growth is that peak minus the peak of ``users show``
of one user on the same database (the same imports and connection, one row):
the process baseline. Output goes to ``/dev/null``, except ``--output FILE``.

References, measured in the same run beside them: the database's own
command-line client dumping the same rows in the same order (``sqlite3
-csv`` / ``psql --csv`` with ``FETCH_COUNT``, so it streams too), which is the
floor for reading and formatting them outside Python, and ``cat`` of the
export file, the floor for only moving that many bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = "bench_large_tenant"
OPERATOR = "bench"

# The rows users list writes, without the groups: what the references dump.
REFERENCE_QUERY = (
    "SELECT u.username, u.first_name, u.last_name, u.email, s.name, p.e164, u.extension, u.device_type,"
    " u.desk_phone_model, u.licence, u.services, u.mobile, u.contract, u.status, u.status_reason,"
    " u.created_at, u.status_changed_at, c.sip_username, c.realm"
    " FROM users u JOIN sites s ON s.id = u.site_id JOIN phone_numbers p ON p.id = u.number_id"
    " LEFT JOIN desk_phone_credentials c ON c.user_id = u.id"
    " ORDER BY u.last_name{c}, u.first_name{c}, u.username{c}"
)


@dataclass
class Figures:
    wall: float
    cpu: float
    rss_mb: float


def measure(argv: list[str], env: dict[str, str], *, stdout: Path | None = None) -> Figures:
    """One process: wall and CPU seconds, peak RSS. Fails loudly if it fails.
    Run under GNU time, a small process, so the peak is the command's own
    (a child forked from this Python would start with this Python's pages)."""
    timing = RESULTS / "time.txt"
    timed = ["/usr/bin/time", "-q", "-o", str(timing), "-f", "%e %U %S %M", *argv]
    with open(stdout or os.devnull, "wb") as sink:
        done = subprocess.run(timed, env=env, stdout=sink, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    wall, user, system, peak_kb = timing.read_text().split()[-4:]
    timing.unlink()
    return Figures(float(wall), float(user) + float(system), int(peak_kb) / 1024)


def onenet(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "onenet_tui", "--db", url, *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--db", help="a PostgreSQL URL (postgresql+psycopg://...); default SQLite")
    parser.add_argument("--rebuild", action="store_true", help="build the tenant again even if it is cached")
    options = parser.parse_args()

    RESULTS.mkdir(exist_ok=True)
    backend = "postgresql" if options.db else "sqlite"
    record = RESULTS / f"large_tenant-{backend}-{options.users}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONENET_")}
    env.update({"ONENET_OPERATOR": OPERATOR, "ONENET_CONFIG": str(RESULTS / "no-config.toml")})
    if options.db:
        url, reference = _postgres(options.db, rebuild=options.rebuild or not record.exists())
    else:
        path = RESULTS / f"large_tenant-{options.users}.db"
        url = f"sqlite:///{path}"
        reference = ["sqlite3", "-csv", f"file:{path}?mode=ro", REFERENCE_QUERY.format(c="")]
        if options.rebuild or not record.exists() or not path.exists():
            for stale in RESULTS.glob(f"{path.name}*"):
                stale.unlink()

    if options.rebuild or not record.exists() or (options.db is None and not Path(url[10:]).exists()):
        print(f"building {options.users:,} users on {backend} ...", flush=True)
        build = measure(onenet(url, "demo", "--force", "--users", str(options.users), "--format", "json"), env)
        record.write_text(json.dumps({**vars(build), "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
        built_now = True
    else:
        built_now = False
    recorded = json.loads(record.read_text())
    build = Figures(recorded["wall"], recorded["cpu"], recorded["rss_mb"])

    someone = _someone(url)
    baseline = measure(onenet(url, "users", "show", someone, "--format", "json"), env)
    export = RESULTS / f"large_tenant-{backend}-export.csv"
    export_json = RESULTS / f"large_tenant-{backend}-export.json"
    rows: list[tuple[str, Figures, str]] = [
        (f"demo --force --users {options.users}" + ("" if built_now else f" (built {recorded['at']})"), build, ""),
        ("users show USER (the process baseline)", baseline, ""),
        ("users list --format json", measure(onenet(url, "users", "list", "--format", "json"), env), ""),
        ("users list --format csv", measure(onenet(url, "users", "list", "--format", "csv"), env), ""),
        ("users list (table)", measure(onenet(url, "users", "list"), env), ""),
        (
            "users export --output FILE.csv",
            measure(onenet(url, "users", "export", "--output", str(export), "--force"), env),
            "",
        ),
        (
            "users export --format json --output FILE",
            measure(onenet(url, "users", "export", "--format", "json", "--output", str(export_json), "--force"), env),
            "",
        ),
        (f"reference: {reference[0]} dumping the rows", measure(reference, {**env, **_psql_env(options.db)}), "ref"),
        (
            f"reference: cat of the CSV export ({export.stat().st_size / 1e6:.0f} MB)",
            measure(["cat", str(export)], env),
            "ref",
        ),
    ]
    export.unlink(missing_ok=True)
    export_json.unlink(missing_ok=True)

    print(f"\n{options.users:,} users on {backend}; {os.cpu_count()} CPUs, load average {_load()}\n")
    print("| what | wall s | CPU s | peak RSS MB | over baseline MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, figures, kind in rows:
        growth = "" if kind == "ref" or name.startswith("users show") else f"{figures.rss_mb - baseline.rss_mb:+.0f}"
        print(f"| `{name}` | {figures.wall:.1f} | {figures.cpu:.1f} | {figures.rss_mb:.0f} | {growth} |")
    return 0


def _cat(path: Path, env: dict[str, str]) -> Figures:
    return measure(["cat", str(path)], env)


def _someone(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT username FROM users ORDER BY id LIMIT 1")).scalar_one())
    finally:
        engine.dispose()


def _postgres(server: str, *, rebuild: bool) -> tuple[str, list[str]]:
    """The URL of the benchmark's own schema on ``server`` (new if ``rebuild``)
    and the ``psql`` reference command."""
    engine = create_engine(server)
    with engine.begin() as conn:
        if rebuild:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    engine.dispose()
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options=-csearch_path%3D{SCHEMA}"
    libpq = "postgresql://" + server.split("://", 1)[1]
    if shutil.which("psql") is None:
        raise SystemExit("psql is needed for the PostgreSQL reference")
    # FETCH_COUNT makes psql read through a cursor, a batch at a time, as the listings do.
    query = REFERENCE_QUERY.format(c=' COLLATE "C"')
    return url, ["psql", "--csv", "-X", "-q", "-v", "FETCH_COUNT=5000", libpq, "-c", query]


def _psql_env(server: str | None) -> dict[str, str]:
    return {"PGOPTIONS": f"-csearch_path={SCHEMA}"} if server else {}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
