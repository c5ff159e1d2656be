"""Alembic environment: runs on the connection handed over by engine.persistence.database.migrate."""
from alembic import context
from sqlalchemy import create_engine

from engine.persistence.tables import Base, UtcDateTime, schema_compared_on

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        with create_engine(config.get_main_option("sqlalchemy.url")).begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _render_item(type_, obj, autogen_context):
    """Migrations stay free of application imports: UtcDateTime is stored as a plain timestamptz."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", render_item=_render_item,
                      include_object=schema_compared_on(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


run()
