"""Atomic output (a reader never sees a half-written file) and the files' digest."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    On any error the temporary file is removed, so a reader never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def file_digest(paths: Sequence[Path]) -> str:
    """SHA-256 over the files' names and contents (remembered per file state: a file is read once)."""
    state = tuple(
        (Path(p).name, str(Path(p).resolve()), os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths
    )
    return _digest(state)


@functools.lru_cache(maxsize=64)
def _digest(state: tuple[tuple[str, str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, where, _, _ in state:
        h.update(name.encode())
        with open(where, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
