"""The package version, single source for pyproject and `threadline version`."""

__version__ = "0.1.0"
