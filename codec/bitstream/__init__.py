"""The .vq container: header, payload sections, CRC, typed errors."""
