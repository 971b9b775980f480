"""benchmark: how vision models use face shape versus face texture, measured with information theory."""
__version__ = "0.6.0"
__all__ = ["__version__"]
