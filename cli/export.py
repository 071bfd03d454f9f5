"""``vqcodec export``: checkpoint -> safetensors weights file."""

from vqcodec.cli.train import export_command as command

__all__ = ["command"]
