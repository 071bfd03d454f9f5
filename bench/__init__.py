"""vqcodec.bench."""
