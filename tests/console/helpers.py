"""Signing in to the console the way a browser does, for the httpx tests."""

from __future__ import annotations

import re

import httpx

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"api_key": api_key, "csrf_token": form_token(page.text), "next": "/console"},
    )


async def page_token(client: httpx.AsyncClient, path: str) -> str:
    """The CSRF token of the signed-in session, as the page at ``path`` carries it."""
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return form_token(r.text)
