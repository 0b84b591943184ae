"""A description of the machine and software a run measured, printed and saved with it."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["describe", "machine_info"]

_PACKAGES = (
    "polyvox-openai",
    "openai",
    "langchain-core",
    "langchain-openai",
    "httpx2",
    "httpx",
    "polyvox-ollama",
    "ollama",
    "langchain-ollama",
    "polyvox-anthropic",
    "anthropic",
    "langchain-anthropic",
    "polyvox-google",
    "google-genai",
    "langchain-google-genai",
    "polyvox-gigachat",
    "gigachat",
    "langchain-gigachat",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """The machine, Python and the measured packages' versions."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "load_1min": load,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "executable": sys.executable,
        "packages": {name: v for name in _PACKAGES if (v := _version(name)) is not None},
    }


def describe(info: dict[str, Any]) -> str:
    """The machine as two printed lines."""
    cores = info["cores"]
    if info["usable_cores"] not in (None, cores):
        cores = f"{info['usable_cores']} of {cores}"
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    load = "" if info["load_1min"] is None else f", load {info['load_1min']:.2f} at start"
    commit = f" at commit {info['commit']}" if info["commit"] else ""
    return (
        f"machine: {cores} cores ({info['cpu']}){load}, {info['implementation']} "
        f"{info['python']}, {info['platform']}\nrun: {info['date']}{commit}; "
        f"packages: {packages}"
    )
