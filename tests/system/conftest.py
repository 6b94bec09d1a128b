"""System tests: ``ordergate serve`` and ``ordergate worker`` as real processes on loopback.

Each test gets a database of its own (``own_database``, tests/conftest.py), because a worker
serves every organisation in its database.
"""
