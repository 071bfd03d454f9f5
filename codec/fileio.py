"""Atomic file writes: readers never see a half-written output; a failed write leaves the old file intact.

The data goes to a hidden temporary file in the target's folder (same file system), is flushed and fsynced,
and is then renamed over the target with :func:`os.replace`, which is atomic on POSIX and Windows. On any
failure the temporary file is removed and an existing target is left untouched.

    with atomic_open("out.vq") as f:
        f.write(header)
        f.write(payload)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["WriteError", "atomic_open", "atomic_write_bytes"]

_DEFAULT_MODE = 0o644


class WriteError(OSError):
    """An output file cannot be written (missing or unwritable folder, target is a directory, disk full, ...).

    ``str(err)`` is a one-line message that names the path.
    """


def _target_mode(path: Path) -> int:
    """Permission bits for the new file: those of the file it replaces, else rw-r--r--."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return _DEFAULT_MODE


def _check_target(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        raise WriteError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise WriteError(f"cannot write {path}: {parent} is not a folder")
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is a directory")


def _describe(path: Path, err: OSError) -> str:
    reason = err.strerror or str(err) or type(err).__name__
    return f"cannot write {path}: {reason[:1].lower()}{reason[1:]}"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing so that it appears only complete, or not at all.

    Args:
        path: The target file. Its folder must exist; an existing file is replaced (its permission bits kept).

    Yields:
        A binary file object on a temporary file in the same folder. When the ``with`` block exits normally
        the temporary file is fsynced and renamed onto ``path``; when it raises, the temporary file is
        deleted, the target is untouched and the exception propagates.

    Raises:
        WriteError: The folder is missing or unwritable, ``path`` is a directory, or writing or renaming
            fails.
    """
    target = Path(path)
    _check_target(target)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise WriteError(_describe(target.parent, err)) from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f  # type: ignore[misc]
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _target_mode(target))
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(_describe(target, err)) from err
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    Args:
        path: The target file; its folder must exist.
        data: The complete file contents.

    Raises:
        WriteError: The file cannot be written; an existing ``path`` is then unchanged and no temporary file
            is left.
    """
    with atomic_open(path) as f:
        f.write(data)
