"""ordergate: self-hosted order intake and order management."""

__version__ = "0.1.0"
