"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def cpuinfo(key: str) -> str | None:
    """The first value of ``key`` in /proc/cpuinfo ("model name", "cpu MHz", "flags"), or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it (or what platform knows)."""
    return cpuinfo("model name") or platform.processor() or platform.machine()


def machine(**versions: str) -> dict[str, object]:
    """The "machine" record of a benchmark's JSON: CPU, core count, Python and ``versions``."""
    return {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
            **versions}  # fmt: skip
