"""Vector quantizers: one ``(N, D)`` core, residual stages, and 1-D/2-D/3-D grid wrappers."""

from vqcodec.quantizers.codebook import EuclideanCodebook, kmeans, nearest_codeword
from vqcodec.quantizers.grid import (
    GRID_RESIDUAL_VQ,
    GRID_VQ,
    ResidualVQ1d,
    ResidualVQ2d,
    ResidualVQ3d,
    VectorQuantizer1d,
    VectorQuantizer2d,
    VectorQuantizer3d,
)
from vqcodec.quantizers.vq import QuantizerOutput, ResidualVQ, VectorQuantizer

__all__ = [
    "EuclideanCodebook",
    "GRID_RESIDUAL_VQ",
    "GRID_VQ",
    "QuantizerOutput",
    "ResidualVQ",
    "ResidualVQ1d",
    "ResidualVQ2d",
    "ResidualVQ3d",
    "VectorQuantizer",
    "VectorQuantizer1d",
    "VectorQuantizer2d",
    "VectorQuantizer3d",
    "kmeans",
    "nearest_codeword",
]
