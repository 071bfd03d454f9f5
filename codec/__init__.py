"""vqcodec: neural compression of images, speech and video with learned codecs and range coding.

    import vqcodec
    from vqcodec.media import Image, load_image

    data = vqcodec.compress(Image(load_image("img.png").pixels))     # default model of the modality
    image = vqcodec.decompress(data)                                 # Image / Audio / Video by the header
"""

from vqcodec.api import Compressed, Decoded, compress, decode, decompress, encode, read_header
from vqcodec.config import GaussianVAEConfig, NetConfig, PriorConfig, VQCodecConfig, VQConfig, VQVAEConfig
from vqcodec.distributions import kl_standard_normal, reparameterize
from vqcodec.kinds import KindSpec, all_kinds, register_kind
from vqcodec.media.types import Audio, Image, Video
from vqcodec.models import (
    VQVAE,
    CodecModel,
    Encoded,
    GaussianVAE,
    GaussianVAEOutput,
    QualityLevel,
    VQCodec,
    VQVAEOutput,
)
from vqcodec.quantizers import (
    QuantizerOutput,
    ResidualVQ,
    ResidualVQ1d,
    ResidualVQ2d,
    ResidualVQ3d,
    VectorQuantizer,
    VectorQuantizer1d,
    VectorQuantizer2d,
    VectorQuantizer3d,
)
from vqcodec.registry import LoadedModel, ModelInfo, QualityMeasure, load_model
from vqcodec.registry import models as list_models

__version__ = "0.2.0"

__all__ = [
    "Audio",
    "CodecModel",
    "Compressed",
    "Decoded",
    "Encoded",
    "GaussianVAE",
    "GaussianVAEConfig",
    "GaussianVAEOutput",
    "Image",
    "KindSpec",
    "LoadedModel",
    "ModelInfo",
    "NetConfig",
    "PriorConfig",
    "QualityLevel",
    "QualityMeasure",
    "QuantizerOutput",
    "ResidualVQ",
    "ResidualVQ1d",
    "ResidualVQ2d",
    "ResidualVQ3d",
    "VQCodec",
    "VQCodecConfig",
    "VQConfig",
    "VQVAE",
    "VQVAEConfig",
    "VQVAEOutput",
    "Video",
    "VectorQuantizer",
    "VectorQuantizer1d",
    "VectorQuantizer2d",
    "VectorQuantizer3d",
    "__version__",
    "all_kinds",
    "compress",
    "decode",
    "decompress",
    "encode",
    "kl_standard_normal",
    "list_models",
    "load_model",
    "read_header",
    "register_kind",
    "reparameterize",
]
