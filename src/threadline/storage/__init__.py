"""Persistence: one SQL layer (SQLAlchemy Core) for SQLite and PostgreSQL, plus migrations."""
