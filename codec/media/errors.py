"""The one error type of :mod:`vqcodec.media` and the input-path checks shared by the loaders."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MediaError", "check_input_file"]


class MediaError(ValueError):
    """A media input cannot be used: missing, empty, not a supported format, truncated, too large, ...

    ``str(err)`` is a single line that starts with the input's name, e.g.
    ``"a.png: truncated or corrupt image data (...)"``.
    """


def check_input_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a :class:`Path` after checking that it is a readable, non-empty regular file.

    Raises:
        MediaError: The path is missing, a directory, unreadable or empty.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(f"{p}: no such file") from None
    except OSError as err:
        raise MediaError(f"{p}: cannot access ({err.strerror or err})") from None
    if p.is_dir():
        raise MediaError(f"{p}: is a directory, expected a file")
    if not os.access(p, os.R_OK):
        raise MediaError(f"{p}: permission denied")
    if st.st_size == 0:
        raise MediaError(f"{p}: empty file")
    return p
