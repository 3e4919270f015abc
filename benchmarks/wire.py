"""Bytes the console sends to the terminal per action (issue 13: frugal on the wire).

Runs the real console in a pseudo-terminal at 80x24 on a demo tenant, sends
keys, and counts the bytes read from the master side once the screen has
settled (no output for a moment). Twice: as on a local terminal, and as over
SSH (``SSH_CONNECTION`` set). Public tools only: ``pty``, ``os``, ``select``.

    python benchmarks/wire.py [--users 2000] [--idle 10]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

COLUMNS, LINES = 80, 24
# Output counts as settled after this long without a byte (a frame is ~16 ms).
QUIET = 0.6
# Keys as the terminal sends them.
DOWN, PAGE_DOWN, ESCAPE = b"\x1b[B", b"\x1b[6~", b"\x1b"


def build_tenant(path: Path, users: int) -> str:
    url = f"sqlite:///{path}"
    subprocess.run(
        [sys.executable, "-m", "onenet_tui", "--db", url, "demo", "--force", "--users", str(users)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url


class Console:
    """The console in a pty; counts what it writes."""

    def __init__(self, url: str, *, ssh: bool) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")}
        env.update(TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8", ONENET_OPERATOR="bench")
        if ssh:
            env["SSH_CONNECTION"] = "192.0.2.1 50000 192.0.2.2 22"
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the console
            os.execvpe(sys.executable, [sys.executable, "-m", "onenet_tui", "--db", url], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))

    def read_for(self, seconds: float) -> int:
        """Bytes written during ``seconds``."""
        total, end = 0, time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            total += self._read(left)
        return total

    def settle(self, limit: float = 20.0) -> int:
        """Bytes written until the output pauses for QUIET seconds."""
        total, end = 0, time.monotonic() + limit
        while time.monotonic() < end:
            got = self._read(QUIET)
            if not got:
                break
            total += got
        return total

    def first_paint(self, limit: float = 30.0) -> int:
        """Bytes from start-up until the first screen has settled."""
        first = self._read(limit)  # Python and Textual take a while to start
        return first + self.settle()

    def press(self, key: bytes) -> int:
        os.write(self.fd, key)
        return self.settle()

    def _read(self, timeout: float) -> int:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return 0
        try:
            return len(os.read(self.fd, 65536))
        except OSError:
            return 0

    def close(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        self.read_for(0.5)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def measure(url: str, *, ssh: bool, idle: float) -> dict[str, int]:
    console = Console(url, ssh=ssh)
    try:
        figures = {"first paint": console.first_paint()}
        # Let the whole directory load and count before measuring keys.
        console.read_for(3.0)
        console.settle()
        figures["cursor down"] = console.press(DOWN)
        figures["page down"] = console.press(PAGE_DOWN)
        figures["filter: `/`"] = console.press(b"/")
        figures["filter: a letter"] = console.press(b"m")
        console.press(ESCAPE)
        figures["open help (`?`)"] = console.press(b"?")
        figures[f"{idle:g} s idle over help"] = console.read_for(idle)
        figures["close help"] = console.press(ESCAPE)
        console.settle()
        figures[f"{idle:g} s idle on the directory"] = console.read_for(idle)
        return figures
    finally:
        console.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = build_tenant(Path(tmp) / "wire.db", args.users)
        local = measure(url, ssh=False, idle=args.idle)
        ssh = measure(url, ssh=True, idle=args.idle)
    print(f"{args.users} users, {COLUMNS}x{LINES}, bytes written to the terminal\n")
    print("| action | local terminal | over SSH |")
    print("| --- | ---: | ---: |")
    for name in local:
        print(f"| {name} | {local[name]:,} | {ssh[name]:,} |")


if __name__ == "__main__":
    main()
