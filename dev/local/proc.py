"""What /proc says a process is using: memory, threads, open files (for the soak tests and the benchmark)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessProbe:
    """What /proc says about one process at one moment."""

    rss_kb: int
    hwm_kb: int
    threads: int
    fds: int
    fd_targets: tuple[str, ...]

    @classmethod
    def of(cls, pid: int) -> ProcessProbe:
        status: dict[str, str] = {}
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(":")
                status[name] = value.strip()
        fd_dir = f"/proc/{pid}/fd"
        targets = []
        for name in os.listdir(fd_dir):
            try:
                targets.append(_fd_kind(os.readlink(os.path.join(fd_dir, name))))
            except FileNotFoundError:  # closed between listdir and readlink
                continue
        return cls(
            rss_kb=int(status["VmRSS"].split()[0]),
            hwm_kb=int(status["VmHWM"].split()[0]),
            threads=int(status["Threads"]),
            fds=len(targets),
            fd_targets=tuple(sorted(targets)),
        )

    def as_dict(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for target in self.fd_targets:
            kinds[target] = kinds.get(target, 0) + 1
        return {
            "rss_kb": self.rss_kb,
            "hwm_kb": self.hwm_kb,
            "threads": self.threads,
            "fds": self.fds,
            "fd_kinds": kinds,
        }


def _fd_kind(target: str) -> str:
    """`socket:[123]` → `socket`, `/dev/null` → `/dev/null`: comparable between two probes."""
    return target.split(":", 1)[0] if target.endswith("]") and ":[" in target else target
