"""LangGraph's thread server protocol (``/threads``), for the unmodified ``langgraph-sdk``.

Translation only: requests are validated and mapped onto :class:`threadline.core.state_service.
StateService`; responses and errors are rendered the way LangGraph's server renders them
(``{"detail": ...}`` bodies). See ``shared/reference/langgraph-wire.md`` for the protocol.
"""
