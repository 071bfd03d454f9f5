"""The ``vqcodec`` command: one click group; each subcommand parses, calls one library function, prints.

Each subcommand lives in its own module ``vqcodec.cli.<name>`` exposing a click command named ``command``;
``_SUBCOMMANDS`` lists them.
"""

from __future__ import annotations

import importlib

import click

import vqcodec

_SUBCOMMANDS: tuple[str, ...] = ("encode", "decode", "info", "models", "demo", "bench", "train", "export")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(vqcodec.__version__, prog_name="vqcodec")
def cli() -> None:
    """vqcodec: neural compression of images, speech and video with learned VQ-VAE codecs.

    \b
    Examples:
      vqcodec encode img.png -o img.vq
      vqcodec decode img.vq -o out.png
    """


for _name in _SUBCOMMANDS:
    cli.add_command(importlib.import_module(f"vqcodec.cli.{_name}").command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="vqcodec")


if __name__ == "__main__":
    main()
