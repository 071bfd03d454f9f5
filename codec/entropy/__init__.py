"""Entropy coding: probability quantization and constriction range coding of index grids and Gaussian latents."""
