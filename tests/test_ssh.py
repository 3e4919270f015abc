"""The console over SSH (issue 13), as real processes: no terminal, end of
input, a crash, and the shipped ``deploy/ssh`` recipe under a real ``sshd``
on the loopback."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOUND = 20.0  # seconds any one process may take here


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("ONENET_DEBUG", "ONENET_OPERATOR", "NO_COLOR", "ONENET_EXPORT_DIR"):
        env.pop(name, None)
    env.update(
        TERM="xterm-256color",
        ONENET_DB_URL=f"sqlite:///{tmp_path / 'onenet.db'}",
        ONENET_CONFIG=str(tmp_path / "config.toml"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    env.update(extra)
    return env


@dataclass
class Terminal:
    """A process on the slave side of a pseudo-terminal, 80x24, read from the master."""

    process: subprocess.Popen[bytes]
    master: int
    screen: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, argv: Sequence[str], env: dict[str, str]) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        process = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        return cls(process, master)

    def read_until(self, wanted: bytes, timeout: float = BOUND) -> bool:
        deadline = time.monotonic() + timeout
        while wanted not in self.screen and time.monotonic() < deadline:
            if not self._read(0.1) and self.process.poll() is not None:
                break
        return wanted in self.screen

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the slave side is closed
            return False
        self.screen += chunk
        return bool(chunk)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = BOUND) -> int | None:
        """The exit code within ``timeout`` (reading on, so the process never blocks writing), else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                while self._read(0.05):
                    pass
                return code
            self._read(0.05)
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        try:
            os.close(self.master)
        except OSError:
            pass

    def text(self) -> str:
        return self.screen.decode("utf-8", "replace")


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.stop()


# --- no terminal, no console ---------------------------------------------------------------------


def test_console_without_a_terminal_exits_at_once_with_exit_2(tmp_path: Path) -> None:
    """``ssh host cmd`` / ``ssh -T`` / scp / sftp: input and output are pipes."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "onenet_tui"],
        input=b"",
        capture_output=True,
        env=console_env(tmp_path),
        timeout=BOUND,
    )
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "onenet-tui: the console needs a terminal: use ssh -t"
    assert done.stdout == b""
    assert time.monotonic() - started < 10
    assert not (tmp_path / "onenet.db").exists()  # the database was never opened


def test_console_with_a_terminal_on_input_only_exits_too(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "onenet_tui"],
            stdin=slave,
            capture_output=True,
            env=console_env(tmp_path, ONENET_LANG="de"),
            timeout=BOUND,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 2
    assert "die Konsole braucht ein Terminal: ssh -t verwenden" in done.stderr.decode()


def test_console_ends_when_its_terminal_hangs_up(tmp_path: Path, terminals: list[Terminal]) -> None:
    """The link drops: the terminal's input ends, and so does the console
    (before, it went on polling the dead input at 20-55 % CPU)."""
    terminal = Terminal.start([sys.executable, "-m", "onenet_tui", "--operator", "jdoe"], console_env(tmp_path))
    terminals.append(terminal)
    assert terminal.read_until(b"jdoe"), terminal.text()[-2000:]
    os.close(terminal.master)
    started = time.monotonic()
    try:
        code = terminal.process.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    assert code is not None, "the console kept running after its input ended"
    assert time.monotonic() - started < 10


# --- crashes ---------------------------------------------------------------------------------------

BROKEN_CONSOLE = textwrap.dedent(
    """
    import sys
    from onenet_tui.screens.directory import DirectoryScreen

    def broken(self):
        customer_password = "Zaun-2026-geheim"
        raise ZeroDivisionError("the directory broke")

    DirectoryScreen.on_mount = broken
    from onenet_tui.cli import main

    sys.exit(main())
    """
)


def run_broken_console(tmp_path: Path, terminals: list[Terminal], **env: str) -> tuple[int | None, str]:
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_CONSOLE)
    terminal = Terminal.start([sys.executable, str(script)], console_env(tmp_path, **env))
    terminals.append(terminal)
    return terminal.wait(), terminal.text()


def test_crash_prints_one_line_naming_the_error_and_the_log_and_exits_1(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    code, shown = run_broken_console(tmp_path, terminals)
    log = tmp_path / "state" / "onenet-tui" / "crash.log"
    assert code == 1
    # After the terminal is restored: one line, no traceback, no local variables.
    after = shown.rsplit("\x1b[?1006l", 1)[-1].strip()
    assert after == (
        f"onenet-tui: unexpected error: ZeroDivisionError: the directory broke; "
        f"the details are in {log} (ONENET_DEBUG=1 prints them here)"
    )
    assert "Traceback" not in shown and "Zaun-2026-geheim" not in shown
    assert (log.stat().st_mode & 0o777) == 0o600
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged and "ZeroDivisionError: the directory broke" in logged
    assert "Zaun-2026-geheim" not in logged  # the traceback has no local variables


def test_crash_with_onenet_debug_prints_the_traceback_without_locals(tmp_path: Path, terminals: list[Terminal]) -> None:
    code, shown = run_broken_console(tmp_path, terminals, ONENET_DEBUG="1")
    assert code == 1
    assert "Traceback (most recent call last)" in shown and "in broken" in shown
    assert "Zaun-2026-geheim" not in shown
    assert len(shown.rsplit("\x1b[?1006l", 1)[-1].splitlines()) < 60
