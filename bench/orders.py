"""Realistic, varied canonical orders (~2 KB) for every scenario of the benchmark.

One generator feeds everything: the wrk templates for ``POST /v1/orders``, the in-process
validation benchmark and the 1M-order seed of the read path, so that each scenario measures
the same kind of document. Generation is seeded: two runs send the same bodies.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

# wrk replaces this marker with a unique order_ref per request (see bench/wrk.lua).
REF_MARKER = "@@REF@@"

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
_DOMAINS = ["example.com", "example.org", "mail.example.net", "shop.example.co.uk"]
_CITIES = [
    ("London", "GB", "SW1A 1AA", "en", "en-GB", "Europe/London", "GBP"),
    ("Manchester", "GB", "M1 1AE", "en", "en-GB", "Europe/London", "GBP"),
    ("Paris", "FR", "75001", "fr", "fr-FR", "Europe/Paris", "EUR"),
    ("Berlin", "DEU", "10115", "de", "de-DE", "Europe/Berlin", "EUR"),  # alpha-3, normalised
    ("Amsterdam", "NL", "1012 JS", "nl", "nl-NL", "Europe/Amsterdam", "EUR"),
    ("New York", "US", "10001", "en", "en-US", "America/New_York", "USD"),
]
_STREETS = ["High St", "Station Road", "Rue de Rivoli", "Unter den Linden", "Damrak", "5th Ave"]
_PRODUCTS = [
    ("Espresso cups, set of 4", "Kitchen", "Porcelino"),
    ("Linen tea towel", "Home Textiles", "Flaxworks"),
    ("Cast iron skillet 28 cm", "Cookware", "Ironclad"),
    ("Organic green tea 250 g", "Grocery", "Leaf & Co"),
    ("Merino wool scarf", "Apparel", "Highland"),
    ("Ceramic plant pot", "Garden", "Terra"),
    ("Notebook A5 dotted", "Stationery", "Paperhaus"),
    ("Bamboo cutting board", "Kitchen", "Greenwood"),
]
_SHOPS = ["Example Shop", "Acme Outlet", "Corner Store", "Marketplace EU"]
_CHANNELS = ["webshop", "marketplace", "pos", "mobile"]
_PAYMENTS = ["card", "paypal", "klarna", "bank_transfer"]
_DELIVERY = ["standard", "express", "pickup"]


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _address(rng: random.Random, first: str, last: str, city: tuple[str, ...]) -> dict[str, Any]:
    name, country, postal_code = city[0], city[1], city[2]
    return {
        "name": f"{first} {last}",
        "company": rng.choice([None, "Analytical Engines Ltd", "Compilers plc"]),
        "line1": f"{rng.randint(1, 250)} {rng.choice(_STREETS)}",
        "line2": rng.choice([None, f"Flat {rng.randint(1, 40)}"]),
        "postal_code": postal_code,
        "city": name,
        "region": None,
        "country": country,
        "phone": f"+44 20 7946 {rng.randint(0, 9999):04d}",
        "email": None,
    }


def _item(rng: random.Random, line: int, currency: str) -> dict[str, Any]:
    name, category, brand = rng.choice(_PRODUCTS)
    sku = f"SKU-{rng.randint(1, 5000):05d}"
    return {
        "line_id": str(line),
        "sku": sku,
        "gtin": f"{rng.randint(0, 10**13 - 1):013d}",
        "name": name,
        "quantity": rng.randint(1, 4),
        "unit_price": _money(rng.randint(150, 25_000)),
        "currency": currency,
        "image_url": f"https://cdn.example.com/products/{sku}.jpg",
        "brand": brand,
        "category": category,
        "supplier": rng.choice([None, "Wholesale One", "Direct"]),
        "metadata": {"colour": rng.choice(["red", "blue", "natural"]), "warehouse": "W1"},
    }


def make_order(rng: random.Random, ref: str) -> dict[str, Any]:
    """A valid canonical order (SPEC §2): customer, two addresses, 1–5 items."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city = rng.choice(_CITIES)
    currency = city[6]
    items = [_item(rng, i + 1, currency) for i in range(rng.randint(1, 5))]
    subtotal = sum(int(it["unit_price"].replace(".", "")) * int(it["quantity"]) for it in items)
    shipping = rng.choice([0, 395, 595])
    day = rng.randint(1, 28)
    return {
        "order_ref": ref,
        "order_number": str(rng.randint(100_000, 999_999)),
        "source": rng.choice(_SHOPS),
        "channel": rng.choice(_CHANNELS),
        "test": False,
        "placed_at": f"2025-{rng.randint(1, 12):02d}-{day:02d}T{rng.randint(0, 23):02d}:30:00Z",
        "fulfilled_at": None,
        "currency": currency,
        "language": city[3],
        "locale": city[4],
        "timezone": city[5],
        "customer": {
            "email": f"{first}.{last}{rng.randint(1, 99_999)}@{rng.choice(_DOMAINS)}".lower(),
            "customer_ref": f"C-{rng.randint(1, 10**6)}",
            "title": rng.choice([None, "Ms", "Mr", "Dr"]),
            "first_name": first,
            "last_name": last,
            "phone": f"+44 7700 {rng.randint(0, 999_999):06d}",
            "country": city[1],
        },
        "shipping_address": _address(rng, first, last, city),
        "billing_address": _address(rng, first, last, city),
        "from_address": None,
        "items": items,
        "totals": {
            "total": _money(subtotal + shipping),
            "subtotal": _money(subtotal),
            "shipping": _money(shipping),
            "tax": "0",
            "discount": "0",
        },
        "payment_method": rng.choice(_PAYMENTS),
        "invoice_number": rng.choice([None, f"INV-{rng.randint(1, 10**6)}"]),
        "delivery_method": rng.choice(_DELIVERY),
        "promised_delivery": {"date": f"2026-01-{day:02d}", "earliest": None, "latest": None},
        "message": rng.choice([None, {"type": "gift", "text": "Happy birthday!"}]),
        "tags": rng.sample(
            ["vip", "first-order", "category:Home", "promo:WINTER"], rng.randint(0, 2)
        ),
        "metadata": {"erp_id": f"X-{rng.randint(1, 10**6)}", "campaign": "winter"},
    }


def templates(count: int, seed: int = 7) -> list[bytes]:
    """``count`` varied order bodies whose order_ref is :data:`REF_MARKER`."""
    rng = random.Random(seed)
    return [orjson.dumps(make_order(rng, REF_MARKER)) for _ in range(count)]


def with_ref(template: bytes, ref: str) -> bytes:
    return template.replace(REF_MARKER.encode(), ref.encode(), 1)
