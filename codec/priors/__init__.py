"""Priors over index grids: factorized (unigram) and PixelCNN."""
