"""Metadata: SQLAlchemy models, sessions, Alembic migrations. SQLite and PostgreSQL."""
