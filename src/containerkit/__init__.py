"""Container Kit: from a source repository to a verified deployment."""

__version__ = "0.1.0"

__all__ = ["__version__"]
