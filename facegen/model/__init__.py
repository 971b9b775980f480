"""Face models: the in-memory type, the embedded default model, loaders for real models, npz I/O."""
from .load import load_model
from .npz import load_npz, save_npz
from .types import FaceModel, FactorModel, Identity, ModelFileError

__all__ = ["FaceModel", "FactorModel", "Identity", "ModelFileError", "load_model", "load_npz", "save_npz"]
