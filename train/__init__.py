"""vqcodec.train."""
