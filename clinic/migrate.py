"""Alembic, driven from code: migrations are the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


# Indexes only PostgreSQL has, made by hand in their migration and not in the models (the
# trigram indexes of a patient's search, 0019): comparing the models with the database
# leaves them alone, as autogenerate would otherwise drop them.
DATABASE_ONLY_INDEXES = frozenset(
    {
        "ix_patients_search_name_loose_trgm",
        "ix_patients_search_name_bare_trgm",
        "ix_patients_search_name_yo_trgm",
        "ix_patients_search_name_bare_yo_trgm",
        "ix_patients_phone_trgm",
        "ix_patients_document_number_trgm",
    }
)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter for comparing the models with a database: everything but the
    :data:`DATABASE_ONLY_INDEXES` found in it."""
    return not (type_ == "index" and reflected and name in DATABASE_ONLY_INDEXES)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_heads(database_url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from clinic.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def older_than_current(database_url: str, revision: str) -> bool:
    """Whether ``revision`` lies behind the database's current one, so that an upgrade to it
    would move nothing (Alembic takes it as done). A revision Alembic cannot name is left
    for the upgrade itself to refuse."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    heads = current_heads(database_url)
    if not heads:
        return False
    script = ScriptDirectory.from_config(alembic_config(database_url))
    try:
        target = script.get_revision(revision)
        if target is None:  # "base": before every migration
            return True
        behind = {s.revision for s in script.iterate_revisions(tuple(heads), "base")}
    except CommandError:  # an unknown revision, or a database newer than this code
        return False
    return target.revision in behind - heads
