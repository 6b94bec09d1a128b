"""The email shortcut: for the addresses it takes, exactly what email-validator returns."""

from __future__ import annotations

import random
import string

import pytest
from email_validator import EmailNotValidError, validate_email

from ordergate.orders import fields


def _library(value: str) -> str | None:
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def _addresses(n: int) -> list[str]:
    rng = random.Random(20261123)
    local_chars = string.ascii_letters + string.digits + "._%+-!#'~"
    host_chars = string.ascii_letters + string.digits + "-"
    out = []
    for _ in range(n):
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(1, 70)))
        labels = [
            "".join(rng.choice(host_chars) for _ in range(rng.randint(1, 70)))
            for _ in range(rng.randint(1, 4))
        ]
        tld = rng.choice(["com", "de", "CO", "museum", "test", "local", "x", "1a", "onion", "Org"])
        out.append(f"{local}@{'.'.join([*labels, tld])}")
    return out


EDGES = [
    "John.Doe@Example.COM",
    "a@b.co",
    "x@xn--bcher-kva.de",
    "x@ab--cd.de",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.test",
    "a@localhost",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["b" * 60] * 4) + ".com",
    "user+tag@sub.domain.example.org",
]


@pytest.mark.parametrize("address", EDGES + _addresses(3000))
def test_the_shortcut_agrees_with_email_validator(address: str) -> None:
    plain = fields._plain_email(address)
    if plain is not None:
        assert plain == _library(address), address


def test_the_shortcut_takes_the_common_addresses() -> None:
    taken = [a for a in EDGES if fields._plain_email(a) is not None]
    assert "John.Doe@Example.COM" in taken
    assert "user+tag@sub.domain.example.org" in taken
    assert fields.normalise_email("John.Doe@Example.COM") == "John.Doe@example.com"
