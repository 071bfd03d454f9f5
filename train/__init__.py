"""vqcodec.train: configs, datasets, the training loop, checkpoints and DDP for every vqcodec model."""

from vqcodec.train.config import TrainConfig, build_config, read_config_file
from vqcodec.train.loop import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "build_config", "read_config_file", "train"]
