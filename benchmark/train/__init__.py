"""Training the reference network on facegen shards.

``data`` streams shards into batches, ``loop`` trains (checkpoints, resume, DDP), ``evaluate`` scores a
run per factor level, ``export`` writes ONNX, ``run`` defines the RUN folder.
"""
from .loop import TrainConfig, TrainResult, seed_everything, train

__all__ = ["TrainConfig", "TrainResult", "seed_everything", "train"]
