"""Dimension-generic network building blocks."""

from vqcodec.nn.blocks import Decoder, Encoder, ResBlock, conv, downsample, upsample

__all__ = ["Decoder", "Encoder", "ResBlock", "conv", "downsample", "upsample"]
