"""parcelLab's order body as pydantic models, for the OpenAPI document only: the routes
read bodies themselves (:mod:`.body`), field by field, in DRF's words."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ordergate.dialects.parcellab.body import MUTATION_TYPES
from ordergate.dialects.parcellab.fields import MONEY


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class ParcellabAddress(_Doc):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_line: str
    address_line_2: str | None = None
    postal_code: str
    city: str
    region: str | None = None
    country_iso3: str = Field(examples=["DEU"])
    phone: str | None = None
    email: str | None = None


class ParcellabArticle(_Doc):
    line_item_id: str | None = None
    sku: str | None = None
    article_name: str | None = None
    quantity: int | None = Field(default=None, ge=1)
    unit_price: str | None = Field(default=None, pattern=MONEY.pattern)
    article_image_url: str | None = None
    article_category: str | None = None


class ParcellabMutation(_Doc):
    type: str = Field(description=" | ".join(MUTATION_TYPES))
    cancelled_reason: str | None = Field(default=None, description="cancel_order")
    cancelled_date: str | None = Field(default=None, description="cancel_order")
    tracking: dict[str, Any] | None = Field(
        default=None, description="add_tracking: tracking_number, courier, articles"
    )
    line_item_id: str | None = Field(default=None, description="change_line_item_quantity")
    quantity: int | None = Field(default=None, description="change_line_item_quantity")


_MONEY = Field(default=None, pattern=MONEY.pattern, examples=["99.90"])


class ParcellabOrder(_Doc):
    account: int | None = Field(default=None, description="Your organisation number")
    order_number: str | None = None
    external_reference: str | None = Field(default=None, description="The key, if sent")
    client_key: str | None = None
    destination_country_iso3: str | None = Field(default=None, examples=["DEU"])
    language_iso2: str | None = None
    delivery_method: str | None = None
    recipient_email: str | None = Field(default=None, description='An email, or "_unset"')
    recipient_name: str | None = None
    customer_number: str | None = None
    invoice_number: str | None = None
    payment_method: str | None = None
    order_total_amount: str | None = _MONEY
    order_tax_amount: str | None = _MONEY
    order_net_amount: str | None = _MONEY
    order_discount_amount: str | None = _MONEY
    order_currency: str | None = None
    order_date: str | None = None
    channel: str | None = None
    announced_delivery_date: str | None = Field(default=None, description="YYYY-MM-DD")
    announced_delivery_date_min: str | None = None
    announced_delivery_date_max: str | None = None
    timezone: str | None = None
    order_status: str | None = None
    cancelled_reason: str | None = None
    cancelled_date: str | None = None
    tags: list[str] | None = Field(default=None, examples=[["category:Home Apparel"]])
    articles_order: list[ParcellabArticle] | None = None
    shipping_address: ParcellabAddress | None = None
    billing_address: ParcellabAddress | None = None
    additional_attributes: dict[str, Any] | None = None
    mutations: list[ParcellabMutation] | None = None
