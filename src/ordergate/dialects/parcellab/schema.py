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


# --- answers ---------------------------------------------------------------------------------


class ParcellabError(BaseModel):
    code: str = Field(examples=["required", "invalid", "not_found"])
    detail: str
    attr: str | None = Field(description="Dotted path with indices, or null for the request")


class ParcellabErrors(BaseModel):
    """Every error answer (DRF standardised errors)."""

    type: str = Field(examples=["client_error"])
    errors: list[ParcellabError]


class ParcellabMutationResult(BaseModel):
    success: bool
    message: str


class ParcellabMutationOut(BaseModel):
    type: str
    result: ParcellabMutationResult


class ParcellabWritten(BaseModel):
    """PUT (201 created, 200 updated) and POST (201)."""

    external_id: str = Field(description="The order's id")
    order_number: str | None
    mutations: list[ParcellabMutationOut]


class ParcellabAddressOut(BaseModel):
    first_name: str | None
    last_name: str | None
    company: str | None
    address_line: str | None
    address_line_2: str | None
    postal_code: str | None
    city: str | None
    region: str | None
    country_iso3: str | None
    phone: str | None
    email: str | None


class ParcellabArticleOut(BaseModel):
    line_item_id: str
    sku: str
    article_name: str | None
    quantity: int
    unit_price: str | None
    article_image_url: str | None
    article_category: str | None


class ParcellabTrackingArticle(BaseModel):
    line_item_id: str
    quantity: int


class ParcellabTracking(BaseModel):
    tracking_number: str | None
    courier: str | None
    articles: list[ParcellabTrackingArticle]
    created_at: str


class ParcellabOrderOut(BaseModel):
    """parcelLab's order object: what a PUT accepts, and the server's own fields."""

    external_id: str
    account: int
    order_number: str | None
    external_reference: str
    client_key: str | None
    destination_country_iso3: str | None
    language_iso2: str | None
    delivery_method: str | None
    recipient_email: str
    recipient_name: str | None
    recipient_phone: str | None
    customer_number: str | None
    invoice_number: str | None
    payment_method: str | None
    order_total_amount: str | None
    order_tax_amount: str | None
    order_net_amount: str | None
    order_discount_amount: str | None
    shipping_cost_total: str | None
    order_currency: str | None
    order_date: str | None
    channel: str | None
    announced_delivery_date: str | None
    announced_delivery_date_min: str | None
    announced_delivery_date_max: str | None
    timezone: str | None
    order_status: str | None
    cancelled_date: str | None
    cancelled_reason: str | None
    tags: list[str]
    articles_order: list[ParcellabArticleOut]
    shipping_address: ParcellabAddressOut | None
    billing_address: ParcellabAddressOut | None
    additional_attributes: dict[str, Any]
    trackings: list[ParcellabTracking]
    created_at: str
    updated_at: str


class ParcellabPage(BaseModel):
    """DRF cursor pagination."""

    next: str | None
    previous: str | None
    results: list[ParcellabOrderOut]
