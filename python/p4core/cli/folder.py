"""A run folder belongs to one run.

:meth:`RunFolder.claim` runs before Hydra writes anything into the folder: it refuses a folder that holds
another run's results (its manifest, ``.p4core/run.json``, or an older run's ``summary.json``) unless
``overwrite=true``, takes an exclusive lock (``flock`` on ``.p4core.lock``; a second run into the folder
exits 2 naming it) and, to overwrite, moves the old results aside. :meth:`RunFolder.release` ends the run:
on success the old results are deleted; on failure they are put back and whatever this run created is
removed (a refused or failed run leaves no trace: its error went to the terminal).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path

from p4core.errors import InputError
from p4core.runstate import MANIFEST
from p4core.runstate import STATE as STATE_FILE

STATE = ".p4core"  # the run's own records: the manifest and the state a re-render reads (p4core.runstate)
LOCK = ".p4core.lock"
PREVIOUS = ".p4core-previous"
#: the files of an older run that wrote no manifest
TRACES = ("summary.json", "config_resolved.yaml")


def previous_results(path: Path) -> list[str]:
    """The files of another run in ``path`` (relative names; empty when there are none)."""
    manifest = path / MANIFEST
    if manifest.is_file():
        try:
            files = list(json.loads(manifest.read_text()).get("files", []))
        except (OSError, ValueError):
            files = []
        return [f for f in dict.fromkeys([*files, MANIFEST, "p4core.log", STATE_FILE]) if (path / f).exists()]
    if any((path / t).is_file() for t in TRACES):  # an older run: its usual files
        return sorted(
            str(p.relative_to(path))
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".p4core")
        )
    return []


class RunFolder:
    """The lock and the overwrite of one run's folder (module docstring)."""

    def __init__(self, path: str | Path, overwrite: bool = False, option: str = "hydra.run.dir") -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.option = option
        self.created: list[Path] = []
        self.fd: int | None = None
        self.moved: list[str] = []

    def claim(self) -> None:
        prior = previous_results(self.path) if self.path.is_dir() else []
        if prior and not self.overwrite:
            shown = ", ".join(prior[:4]) + (", ..." if len(prior) > 4 else "")
            raise InputError(
                f"{self.option}: {self.path} holds another run's results ({shown}); choose another folder, or "
                "overwrite=true to replace them"
            )
        missing = []
        p = self.path
        while not p.exists():
            missing.append(p)
            p = p.parent
        self.path.mkdir(parents=True, exist_ok=True)
        self.created = list(reversed(missing))
        self.lock()
        if prior:  # overwrite: the old results aside, restored if this run fails
            backup = self.path / PREVIOUS
            shutil.rmtree(backup, ignore_errors=True)
            for rel in prior:
                dest = backup / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                (self.path / rel).replace(dest)
                self.moved.append(rel)

    def lock(self) -> None:
        """The folder's exclusive lock (one line naming the folder when another run holds it)."""
        fd = os.open(self.path / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError(
                    f"{self.option}: another p4core run is writing into {self.path}; wait for it, or choose "
                    "another folder"
                ) from None
            raise
        except ImportError:  # no flock (not POSIX): the manifest check still applies
            pass
        self.fd = fd

    @classmethod
    def of_job(cls, path: str | Path, overwrite: bool) -> RunFolder:
        """A sweep job's folder (Hydra made it): removed again if the job fails before it holds results."""
        folder = cls(path, overwrite)
        if not (folder.path / MANIFEST).is_file():
            folder.created = [folder.path]
        return folder

    def claim_job(self) -> None:
        """:meth:`claim` for a sweep's job, whose folder Hydra has just made (with the job's log): only a
        manifest marks another run's results there; the folder goes again if the job fails."""
        fresh = not (self.path / MANIFEST).is_file()
        if fresh:
            self.created = [self.path]
        log_file = self.path / "p4core.log"
        aside = self.path / ".p4core-job.log"
        if log_file.exists():  # Hydra's log of this job is not a previous result
            log_file.replace(aside)
        try:
            self.claim()
        finally:
            if aside.exists():
                aside.replace(log_file)
        if fresh:
            self.created = [self.path]

    def release(self, ok: bool) -> None:
        backup = self.path / PREVIOUS
        if self.moved:
            if ok:
                shutil.rmtree(backup, ignore_errors=True)
            else:
                for rel in self.moved:
                    src = backup / rel
                    if src.exists():
                        (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
                        src.replace(self.path / rel)
                shutil.rmtree(backup, ignore_errors=True)
        if self.fd is not None:
            with contextlib.suppress(OSError):
                (self.path / LOCK).unlink()
            os.close(self.fd)
            self.fd = None
        if not ok:
            self.remove_traces()

    def remove_traces(self) -> None:
        """What a failed run left: its log and an empty state folder; the folders it created when empty."""
        if self.moved:
            return  # the restored results stay, and the folder with them
        with contextlib.suppress(OSError):
            (self.path / "p4core.log").unlink()
        for d in (self.path / STATE, *reversed(self.created)):
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty


#: the folder of the run in progress in this process (set by the command line's Hydra callback)
CURRENT: list[RunFolder] = []
