#!/usr/bin/env python3
"""Bootstrap and run a polyvox task: ``python3 dev.py demo`` or ``python3 dev.py tests``.

Needs only Python 3.11+ and the package registry. On first use it makes a private tool
environment (``.tools/``) holding nox and uv, then runs ``nox -s <session>``; nox and uv
create and sync the project environment (``.venv``) from ``uv.lock``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
BIN = TOOLS / ("Scripts" if os.name == "nt" else "bin")
REQUIREMENTS = ["nox==2026.10.20", "uv==0.13.9"]


def ensure_tools() -> None:
    stamp = TOOLS / "requirements.txt"
    if stamp.exists() and stamp.read_text() == "\n".join(REQUIREMENTS):
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older Python
        sys.exit(f"polyvox needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    print(f"dev.py: installing {', '.join(REQUIREMENTS)} into {TOOLS}", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    py = BIN / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    stamp.write_text("\n".join(REQUIREMENTS))


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(__doc__)
        print("sessions: tests, pytest, lint, typecheck, docs, notebooks, bench, demo, installs")
        return 0
    ensure_tools()
    session, *rest = sys.argv[1:]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("VIRTUAL_ENV", None)
    cmd = [str(BIN / "nox"), "-f", str(ROOT / "noxfile.py"), "-s", session]
    if rest:
        cmd += ["--", *rest]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
