"""The Threadline Python SDK: ``Client`` and ``AsyncClient`` over the native ``/v1`` API."""
