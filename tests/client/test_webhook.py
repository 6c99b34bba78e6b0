"""The webhook URL: parsed once, its secret never shown (b24.client.webhook)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from b24.client.webhook import Webhook, WebhookURLError

URL = "https://example.bitrix24.ru/rest/7/k3y0fTh3p0rtal/"


@pytest.mark.parametrize("url", [URL, SecretStr(URL), URL.rstrip("/"), "  " + URL + " "])
def test_a_webhook_names_its_portal_and_user(url: str | SecretStr) -> None:
    webhook = Webhook.parse(url)
    assert webhook.portal == "example.bitrix24.ru"
    assert webhook.user_id == "7"
    assert webhook.method_url("crm.contact.get") == URL + "crm.contact.get"


def test_the_secret_is_not_in_repr_or_str() -> None:
    webhook = Webhook.parse(URL)
    for text in (repr(webhook), str(webhook), f"{webhook}", repr([webhook])):
        assert "k3y0fTh3p0rtal" not in text
        assert "example.bitrix24.ru" in text


def test_scrub_masks_the_secret_in_any_text() -> None:
    webhook = Webhook.parse("http://127.0.0.1:8090/rest/1/a%2Fb c/")
    # aiohttp's ConnectionTimeoutError says "Connection timeout to host {url}".
    text = f"Connection timeout to host {webhook.method_url('crm.lead.get')}"
    scrubbed = webhook.scrub(text)
    assert "a%2Fb c" not in scrubbed and "***" in scrubbed
    plain = Webhook.parse(URL)
    assert plain.scrub(f"GET {URL}batch") == "GET https://example.bitrix24.ru/rest/7/***/batch"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.bitrix24.ru/rest/7/k3y0fTh3p0rtal/",
        "https:///rest/7/k3y0fTh3p0rtal/",
        "https://example.bitrix24.ru/rest/k3y0fTh3p0rtal/",
        "https://example.bitrix24.ru/rest/7/k3y0fTh3p0rtal/crm.lead.get",
        "https://example.bitrix24.ru/rest/7/k3y0fTh3p0rtal/?x=1",
        "https://user:k3y0fTh3p0rtal@example.bitrix24.ru/rest/7/k3y0fTh3p0rtal/",
    ],
)
def test_a_wrong_url_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(WebhookURLError) as raised:
        Webhook.parse(url)
    assert "k3y0fTh3p0rtal" not in str(raised.value)
