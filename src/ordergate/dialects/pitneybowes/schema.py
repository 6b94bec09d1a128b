"""Pitney Bowes' order body as pydantic models, for the OpenAPI document only: the routes
read bodies themselves (:mod:`.body`), keeping amounts exact."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class PitneyBowesAddress(_Doc):
    name: str | None = Field(default=None, max_length=40)
    company: str | None = Field(default=None, max_length=40)
    addressLine1: str = Field(max_length=40)
    addressLine2: str | None = Field(default=None, max_length=40)
    addressLine3: str | None = Field(default=None, max_length=40)
    cityTown: str = Field(max_length=50)
    stateProvince: str | None = Field(default=None, description="Required for US and CA")
    postalCode: str | None = Field(default=None, description="Required for US and CA")
    countryCode: str = Field(description="ISO 3166-1 alpha-2", examples=["CA"])
    phone: str | None = Field(default=None, max_length=15)
    email: str | None = Field(default=None, max_length=50)
    residential: bool | None = None


class PitneyBowesItem(_Doc):
    customProductId: str | None = Field(default=None, description="Or sku")
    sku: str | None = None
    name: str | None = None
    description: str | None = None
    quantity: int = Field(default=1, ge=1)
    unitPrice: float | None = Field(default=None, description="A JSON number, kept exactly")


class PitneyBowesCharges(_Doc):
    currency: str | None = Field(default=None, examples=["USD"])
    gmv: float | None = None
    subTotal: float | None = None
    totalPaid: float | None = None
    paymentType: str | None = Field(default=None, examples=["Credit Card"])
    billingStatus: str | None = Field(default=None, examples=["Paid"])


class PitneyBowesOrder(_Doc):
    orderNumber: str = Field(examples=["ORD12346"])
    orderMessage: dict[str, Any] | None = Field(default=None, description="type, message")
    metadata: list[dict[str, Any]] | None = Field(default=None, description="[{name, value}]")
    charges: PitneyBowesCharges | None = None
    shippingReference: dict[str, Any] | None = None
    customerInfo: dict[str, Any] | None = Field(
        default=None, description="firstName, lastName, email, customerId"
    )
    fromAddress: PitneyBowesAddress
    toAddress: PitneyBowesAddress
    items: list[PitneyBowesItem] = Field(min_length=1)
    additionalAddresses: list[dict[str, Any]] | None = None
    shippingPreferences: dict[str, Any] | None = None


# --- answers ---------------------------------------------------------------------------------


class PitneyBowesError(BaseModel):
    errorCode: str = Field(examples=["MISSING_REQUIRED_FIELD"])
    errorDescription: str
    additionalInfo: str | None = Field(default=None, description="The field's path")


class PitneyBowesErrors(BaseModel):
    """Every error answer: one entry per problem."""

    errors: list[PitneyBowesError]


class PitneyBowesCreated(BaseModel):
    orderId: str = Field(examples=["PB0000010001"])
    orderNumber: str
    status: str = Field(examples=["Success"])
    transactionCreateDate: str = Field(examples=["2026-01-30T10:53:24.554Z"])


class PitneyBowesOrderOut(BaseModel):
    """PB's order object (GET, PATCH, DELETE): what a create accepts, and the server's own
    fields. Amounts are JSON numbers, written exactly."""

    orderId: str
    orderNumber: str
    orderStatus: str = Field(examples=["UNFULFILLED", "FULFILLED", "CANCELLED"])
    orderMessage: dict[str, Any] | None
    metadata: list[dict[str, Any]]
    charges: dict[str, Any] | None
    shippingReference: dict[str, Any] | None
    customerInfo: dict[str, Any] | None
    fromAddress: dict[str, Any] | None
    toAddress: dict[str, Any] | None
    items: list[dict[str, Any]]
    additionalAddresses: Any = None
    shippingPreferences: Any = None
    transactionCreateDate: str
    lastModifiedDate: str
