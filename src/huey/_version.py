"""The package version."""

__version__ = "3.6.0.dev0"
