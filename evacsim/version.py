"""The package version, in a module of its own so that every layer can read it without
importing the top-level package (which imports the layers)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
