"""The dispatcher tests use ``own_database`` and ``own_postgres`` (tests/conftest.py): a
dispatcher serves every organisation in its database, so its tests cannot share the session's
databases with tests that register endpoints nobody is listening on."""
