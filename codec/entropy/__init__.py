"""Entropy coding: probability quantization and constriction range coding of index grids."""

from vqcodec.entropy.coder import CODER_NAME, EncodedIndices, decode_indices, encode_indices, symbol_checksum
from vqcodec.entropy.stream import check_compatible, compress_indices, decompress_indices
from vqcodec.entropy.tables import LOGIT_BITS, quantize_logits, table_bits

__all__ = [
    "CODER_NAME",
    "LOGIT_BITS",
    "EncodedIndices",
    "check_compatible",
    "compress_indices",
    "decode_indices",
    "decompress_indices",
    "encode_indices",
    "quantize_logits",
    "symbol_checksum",
    "table_bits",
]
