"""Alembic environment: ``db.migrate`` hands over an open connection; there is no ini file."""

from alembic import context

import ordergate.events.tables
import ordergate.intake.tables
import ordergate.orders.tables
import ordergate.tenancy.tables  # noqa: F401 - register the tables on the metadata
from ordergate.db import compared, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
    include_object=compared(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
