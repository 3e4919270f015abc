"""The SIP toolbox of the registrar tests (SPEC section 13): a real Kamailio
on the loopback reading the test's PostgreSQL schema through the role that
``registrar create-role`` makes, and SIPp playing the phones.

Everything started here is bounded in time (subprocess timeouts, SIPp's own
``-timeout``) and stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from onenet_tui.data import registrar
from onenet_tui.data.context import Context

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "deploy" / "sipp"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOOPBACK = "127.0.0.1"
# Upper bounds, never expectations: a healthy run takes a fraction of them.
SIPP_SECONDS = 20
START_SECONDS = 30


def require_tools() -> None:
    """Kamailio and SIPp, or skip; in CI their absence is a failure."""
    missing = [tool for tool in ("kamailio", "sipp") if shutil.which(tool) is None]
    if missing:
        needed = " and ".join(missing)
        reason = f"the registrar tests need {needed} (Debian: kamailio kamailio-postgres-modules sip-tester)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def unique_role() -> str:
    """Roles are cluster-wide and tests run in parallel: one name per test."""
    return f"onenet_reg_{uuid.uuid4().hex[:10]}"


def drop_role(pg_url: str, role: str) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if exists:
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
    finally:
        engine.dispose()


@dataclass
class Registrar:
    """A running Kamailio: its SIP port and the gateway port it relays to."""

    port: int
    gateway_port: int
    work: Path
    process: subprocess.Popen[bytes]
    role: str  # the login role it reads the database with

    @property
    def log(self) -> str:
        return (self.work / "kamailio.log").read_text(errors="replace")


def sip_answers(port: int) -> bool:
    """Whether a SIP server answers an OPTIONS on ``port`` (any reply will do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        mine = sock.getsockname()[1]
        probe = (
            f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{mine};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"From: <sip:probe@{LOOPBACK}>;tag=1\r\nTo: <sip:probe@{LOOPBACK}>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        sock.settimeout(0.5)
        sock.sendto(probe, (LOOPBACK, port))
        try:
            return sock.recv(4096).startswith(b"SIP/2.0")
        except OSError:
            return False


@contextmanager
def running_registrar(ctx: Context, pg_url: str, work: Path) -> Iterator[Registrar]:
    """The shipped configuration, filled in by the service behind
    ``registrar kamailio-config``, pointed at this test's schema through a
    fresh role of ``registrar create-role`` whose password only a private
    ``.pgpass`` file holds. Kamailio and the role are gone afterwards."""
    require_tools()
    role = unique_role()
    made = registrar.create_role(ctx, role)
    try:
        pgpass = work / "pgpass"
        pgpass.write_text(made.pgpass_line + "\n")
        pgpass.chmod(0o600)
        port, gateway_port = free_udp_port(), free_udp_port()
        config = work / "kamailio.cfg"
        config.write_text(
            registrar.kamailio_config(
                pg_url, listen=f"{LOOPBACK}:{port}", role=role, gateway=f"sip:{LOOPBACK}:{gateway_port}"
            )
        )
        runtime = work / "run"
        runtime.mkdir()
        log = (work / "kamailio.log").open("wb")
        env = {**os.environ, "PGPASSFILE": str(pgpass)}
        process = subprocess.Popen(
            ["kamailio", "-f", str(config), "-DD", "-E", "-n", "2", "-Y", str(runtime), "-P", str(runtime / "k.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while not sip_answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("Kamailio did not start:\n" + (work / "kamailio.log").read_text())
            yield Registrar(port, gateway_port, work, process, role)
        finally:
            stop_group(process)
            log.close()
    finally:
        drop_role(pg_url, role)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Kamailio and its children (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclass(frozen=True)
class Played:
    code: int
    out: str

    @property
    def passed(self) -> bool:
        return self.code == 0


def injection_line(sip_user: str, domain: str, password: str, last: str) -> str:
    """One line of SIPp's injection file (the layout of deploy/sipp's
    scenarios): SIPp expands keywords in a field, not fields inside a
    keyword, so the third field is the whole ``[authentication]`` keyword."""
    for value in (sip_user, domain, password, last):
        if any(c in value for c in ";[] \r\n"):
            raise ValueError(f"cannot inject {value!r} into a SIPp scenario")
    return f"{sip_user};{domain};[authentication username={sip_user} password={password}];{last}"


def _sipp_args(work: Path, target: str, scenario: list[str], rows: Sequence[Sequence[str]] | None) -> list[str]:
    args = ["sipp", target, *scenario, "-i", LOOPBACK, "-p", str(free_udp_port()), "-nostdin"]
    args += ["-cp", str(free_udp_port()), "-mp", str(free_udp_port()), "-timeout", f"{SIPP_SECONDS}s", "-timeout_error"]
    args += ["-recv_timeout", "5000", "-max_retrans", "3", "-trace_err"]
    if rows is not None:
        inject = work / f"phones-{uuid.uuid4().hex[:8]}.csv"
        inject.write_text("SEQUENTIAL\n" + "".join(injection_line(*r) + "\n" for r in rows))
        args += ["-inf", str(inject), "-m", str(len(rows))]
    return args


def play(registrar_: Registrar, scenario: str, rows: Sequence[Sequence[str]]) -> Played:
    """SIPp plays ``scenario`` (a file of deploy/sipp) once per row, one at a time."""
    args = _sipp_args(registrar_.work, f"{LOOPBACK}:{registrar_.port}", ["-sf", str(SCENARIOS / scenario)], rows)
    done = subprocess.run(
        [*args, "-l", "1"], cwd=registrar_.work, capture_output=True, text=True, timeout=SIPP_SECONDS + 20
    )
    return Played(done.returncode, done.stdout + done.stderr)


@contextmanager
def answering_phone(registrar_: Registrar, port: int | None = None, calls: int = 1) -> Iterator[int]:
    """A SIPp UAS on ``port`` that answers ``calls`` calls with 200 (a phone, or the carrier's trunk)."""
    port = port or free_udp_port()
    args = ["sipp", "-sf", str(SCENARIOS / "answer.xml"), "-i", LOOPBACK, "-p", str(port), "-nostdin", "-m", str(calls)]
    args += ["-cp", str(free_udp_port()), "-mp", str(free_udp_port()), "-timeout", f"{SIPP_SECONDS}s"]
    process = subprocess.Popen(
        args, cwd=registrar_.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield port
    finally:
        try:
            process.wait(timeout=SIPP_SECONDS + 10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def nothing_left_running(*processes: subprocess.Popen[bytes]) -> bool:
    return all(p.poll() is not None for p in processes)
