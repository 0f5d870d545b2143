"""The native REST API (``/v1``), health, and the app factory."""
