"""facegen: controlled face images from 3D morphable face models."""
__version__ = "0.6.0"
__all__ = ["__version__"]
