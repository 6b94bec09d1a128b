"""Pitney Bowes order ids: ``PB`` and ten base-62 characters (``PBcffM5ruasQ``), made from
the organisation's number and the order's number, so that an id needs no table of its own,
is the same every time it is shown, and no two orders anywhere share one.

The two numbers are packed into 59 bits (organisation < 2^23, order < 2^36) and multiplied
by an odd constant modulo 2^59, a bijection, so that consecutive orders do not get
consecutive-looking ids. This hides nothing: an id is not a secret, and a look-up by id is
always within the caller's own organisation.
"""

from __future__ import annotations

import string

PREFIX = "PB"
_ALPHABET = string.digits + string.ascii_letters  # base 62
_LENGTH = 10  # 62^10 > 2^59
_BITS = 59
_ORDER_BITS = 36
_MASK = (1 << _BITS) - 1
_MULTIPLIER = 0x2545F4914F6CDD1 | 1  # odd: invertible modulo 2^59
_INVERSE = pow(_MULTIPLIER, -1, 1 << _BITS)
MAX_ORGANISATION = (1 << (_BITS - _ORDER_BITS)) - 1
MAX_ORDER = (1 << _ORDER_BITS) - 1


def order_id(organisation_number: int, order_number: int) -> str:
    if not (0 <= organisation_number <= MAX_ORGANISATION and 0 <= order_number <= MAX_ORDER):
        raise ValueError("organisation or order number out of range for a Pitney Bowes id")
    value = (((organisation_number << _ORDER_BITS) | order_number) * _MULTIPLIER) & _MASK
    chars = []
    for _ in range(_LENGTH):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return PREFIX + "".join(reversed(chars))


def parse(text: str) -> tuple[int, int] | None:
    """``(organisation number, order number)`` of an id, or None if it is not one."""
    if len(text) != len(PREFIX) + _LENGTH or not text.startswith(PREFIX):
        return None
    value = 0
    for char in text[len(PREFIX) :]:
        digit = _ALPHABET.find(char)
        if digit < 0:
            return None
        value = value * 62 + digit
    if value > _MASK:
        return None
    packed = (value * _INVERSE) & _MASK
    return packed >> _ORDER_BITS, packed & MAX_ORDER
