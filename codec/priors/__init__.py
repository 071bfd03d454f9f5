"""Priors over index grids: factorized (unigram), gated PixelCNN and codeword-predictive, with their exact coding
sessions."""

from vqcodec.config import PriorConfig
from vqcodec.priors.base import IndexPrior, bits_per_index
from vqcodec.priors.codeword import CodewordBase, CodewordPrior
from vqcodec.priors.codeword_video import CodewordVideoPrior
from vqcodec.priors.pixelcnn import GatedPixelCNN
from vqcodec.priors.unigram import UnigramPrior


def build_prior(config: PriorConfig) -> IndexPrior:
    """The prior named by ``config.kind``."""
    if config.kind == "codeword":
        return CodewordVideoPrior(config) if config.dims == 3 else CodewordPrior(config)
    return GatedPixelCNN(config) if config.kind == "pixelcnn" else UnigramPrior(config)


__all__ = ["CodewordBase", "CodewordPrior", "CodewordVideoPrior", "GatedPixelCNN", "IndexPrior", "UnigramPrior",
           "bits_per_index", "build_prior"]
