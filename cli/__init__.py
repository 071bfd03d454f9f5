"""vqcodec.cli."""
