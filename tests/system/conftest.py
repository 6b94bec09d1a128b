"""System tests: ``ordergate serve`` and ``ordergate worker`` as real processes on loopback.

Each test gets a database of its own (the dispatcher tests' fixtures: a copy of a migrated
template), because a worker serves every organisation in its database.
"""

from tests.events.conftest import own_database, own_postgres, template_databases

__all__ = ["own_database", "own_postgres", "template_databases"]
