"""Shared CLI plumbing: one place that maps library errors to one-line messages, output-path rules, I/O."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from vqcodec.fileio import WriteError, atomic_write_bytes

T = TypeVar("T")

# every error a user can cause (a crafted or huge input can exhaust memory); each carries a one-line message
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, WriteError, MemoryError, RuntimeError)


@contextmanager
def one_line_errors(prefix: str = "") -> Iterator[None]:
    """Turn user-caused errors into ``click.ClickException`` (one line on stderr, exit code 1)."""
    try:
        yield
    except click.ClickException:
        raise
    except USER_ERRORS as exc:
        if os.environ.get("VQCODEC_DEBUG"):  # developers: the full traceback instead of one line
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, MemoryError) or "can't allocate memory" in text:
            text = "out of memory"
        raise click.ClickException(text if text.startswith(prefix) else f"{prefix}{text}") from None


def read_input(path: str) -> bytes:
    """Bytes of ``path`` (``-`` = stdin); a directory or missing file is a one-line error."""
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if p.is_dir():
        raise click.ClickException(f"{path}: is a directory")
    if not p.is_file():
        raise click.ClickException(f"{path}: no such file")
    return p.read_bytes()


def plan_outputs(inputs: tuple[str, ...], output: str | None, outdir: str | None, names: list[str],
                 force: bool) -> list[str]:
    """Output path for every input: ``-o`` (one input), ``-d DIR`` (many; created if missing) or next to the
    input; ``names[i]`` is the file name of input ``i``'s output in a folder. An existing output needs ``force``
    and must be a regular file; a symlink is written through."""
    if output and outdir:
        raise click.ClickException("give either -o/--output or -d/--outdir, not both")
    if output and len(inputs) > 1:
        raise click.ClickException("-o takes one input; use -d DIR for several")
    if not output and "-" in inputs:
        raise click.ClickException("reading stdin needs -o (use -o - for stdout)")
    if outdir:
        folder = Path(outdir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.ClickException(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from None
        outs = [str(folder / n) for n in names]
    elif output:
        outs = [output]
    else:
        outs = [str(Path(i).with_name(n)) for i, n in zip(inputs, names)]
    outs = [str(Path(o).resolve()) if o != "-" and Path(o).is_symlink() else o for o in outs]
    for src, o in zip(inputs, outs):
        if o != "-" and src != "-" and Path(o).exists() and Path(o).resolve() == Path(src).resolve():
            raise click.ClickException(f"{o} is the input itself; choose another output")
        if o == "-" or not Path(o).exists():
            continue
        if not Path(o).is_file():
            raise click.ClickException(f"{o} exists and is not a regular file")
        if not force:
            raise click.ClickException(f"{o} exists (use --force to overwrite)")
    seen: dict[str, str] = {}
    for src, o in zip(inputs, outs):
        if o in seen:
            raise click.ClickException(f"{seen[o]} and {src} would both write {o}")
        seen[o] = src
    return outs


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``-`` = stdout)."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write_bytes(path, data)


def run_all(pairs: list[tuple[str, str]], quiet: bool, desc: str, fn: Callable[[str, str], None]) -> None:
    """``fn(src, dst)`` for every pair. A failing file is reported in one line and the others still run; the exit
    is non-zero if any failed (a single file's error is the whole message)."""
    failed = 0
    items: Iterable[tuple[str, str]] = pairs
    if not quiet and len(pairs) > 1:
        from tqdm import tqdm

        items = tqdm(pairs, desc=desc, unit="file", file=sys.stderr)
    for src, dst in items:
        try:
            with one_line_errors(f"{src}: "):
                fn(src, dst)
        except click.ClickException as exc:
            if len(pairs) == 1:
                raise
            failed += 1
            echo_err(f"Error: {exc.message}")
    if failed:
        raise click.ClickException(f"{failed} of {len(pairs)} files failed")


def echo_err(text: str) -> None:
    """One line on stderr, printed above a running progress bar instead of through it."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    import time

    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def describe_media(media: object) -> str:
    """``768x512``, ``12.3 s 44100 Hz 2 ch`` or ``352x288 x 30 frames @ 30 fps[, sound 1.00 s 48000 Hz 1 ch]``."""
    from vqcodec.media.types import Audio, Image, Video

    if isinstance(media, Image):
        w, h = media.size
        return f"{w}x{h}"
    if isinstance(media, Audio):
        return f"{media.duration:.2f} s {media.sample_rate} Hz {media.samples.shape[0]} ch"
    if isinstance(media, Video):
        _, t, h, w = media.frames.shape
        sound = "" if media.audio is None else f", sound {describe_media(media.audio)}"
        return f"{w}x{h} x {t} frames @ {float(media.fps):.4g} fps{sound}"
    return type(media).__name__


device_option = click.option("--device", default="cpu", show_default=True,
                             help="cpu, cuda, cuda:N or auto: where the networks run (the entropy coder is CPU).")


def progress_bars(media: object, quiet: bool) -> AbstractContextManager[None]:
    """Progress bars on stderr while ``media`` (or the media a ``.vq`` header describes) is coded, one per task as
    it runs (``encoder``, ``prior``, ``decoder``), counting the frames of a video or the seconds of a sound longer
    than a minute; none for other media, when ``quiet`` or when stderr is not a terminal."""
    from contextlib import nullcontext

    from vqcodec.bitstream.header import Header
    from vqcodec.media.types import Audio, Video
    from vqcodec.progress import listening

    if quiet or not sys.stderr.isatty():
        return nullcontext()
    if isinstance(media, Header):
        if media.modality == "video":
            return listening(_Bars("frame", media.shape[1]))
        seconds = media.shape[1] / media.sample_rate if media.modality == "audio" else 0.0
    elif isinstance(media, Video):
        return listening(_Bars("frame", int(media.frames.shape[1])))
    else:
        seconds = media.duration if isinstance(media, Audio) else 0.0
    return listening(_Bars("s", round(seconds))) if seconds > 60 else nullcontext()


class _Bars:
    """The listener of :func:`progress_bars`: a tqdm bar for the task reporting now, closing the previous one."""

    def __init__(self, unit: str, total: int) -> None:
        self.unit, self.total = unit, total
        self.task: str | None = None
        self.bar: Any = None

    def __call__(self, task: str, fraction: float) -> None:
        from tqdm import tqdm

        if task != self.task:
            if self.bar is not None:
                self.bar.close()
            self.task = task
            self.bar = tqdm(total=self.total, desc=task, unit=self.unit, file=sys.stderr, leave=False)
        self.bar.update(round(fraction * self.total) - self.bar.n)
        if fraction >= 1.0:
            self.bar.close()
            self.bar, self.task = None, None
