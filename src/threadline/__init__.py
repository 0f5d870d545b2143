"""Threadline: a self-hosted thread server for LLM applications, and its Python SDK."""

from threadline._version import __version__

__all__ = ["__version__"]
