"""``python -m vqcodec.train`` (what torchrun launches): the same command as ``vqcodec train``.

This entry-point shim is the one place train/ touches the CLI package: torchrun needs a module to run.
"""

from vqcodec.cli.train import command

if __name__ == "__main__":
    command(prog_name="python -m vqcodec.train")
