"""Wire protocols of other thread servers, each a translation onto the core services."""
