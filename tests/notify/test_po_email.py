"""PO email requests: parsing, when they can be sent, the supplier-addressed mailto URL, the text."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from services.notify.domain.po_email import (
    InvalidRequest,
    email_body,
    parse_request,
    recipient_url,
    safe_filename,
    triage,
)


def _data(**over) -> dict:
    data = {"po_id": "PO-7", "supplier_id": "SUP-1", "revision": 2, "status": "sent", "to": "sales@sup1.example",
            "supplier_name": "Acme Foods", "idempotency_key": "k-7-2", "subject": "Purchase order PO-7 (revision 2)",
            "attachment": {"filename": "PO-7.csv", "content_type": "text/csv", "content": "sku,quantity\nA,12\n"}}
    return {**data, **over}


def test_request_is_parsed_with_its_attachment():
    request = parse_request(_data())
    assert (request.po_id, request.revision, request.to, request.filename) == ("PO-7", 2, "sales@sup1.example",
                                                                                "PO-7.csv")
    assert request.content == "sku,quantity\nA,12\n" and request.idempotency_key == "k-7-2"


@pytest.mark.parametrize("broken", [{"attachment": None}, {"revision": "two"}, {"idempotency_key": ""}])
def test_request_without_usable_fields_is_invalid(broken):
    with pytest.raises(InvalidRequest):
        parse_request(_data(**broken))


def test_missing_key_is_invalid():
    data = _data()
    del data["po_id"]
    with pytest.raises(InvalidRequest):
        parse_request(data)


def test_attachment_name_cannot_escape_the_temp_dir():
    assert safe_filename("../../etc/passwd", "PO-1") == "passwd"
    assert safe_filename("PO 7/ä.csv", "PO-7") == "_.csv"
    assert safe_filename("", "PO/8") == "PO_8.csv"


def test_no_mail_server_configured_is_suppressed_whatever_the_address():
    decision = triage(parse_request(_data()), configured=False)
    assert decision.status == "suppressed" and "notify.po_email" in decision.reason


def test_no_supplier_address_fails_with_the_supplier_named():
    decision = triage(parse_request(_data(to=None)), configured=True)
    assert decision.status == "failed" and "SUP-1 has no email address" in decision.reason


def test_invalid_address_fails_instead_of_mailing_the_sender():
    for bad in ("sales at sup1", "a@b.example, c@d.example", "x@localhost"):
        assert triage(parse_request(_data(to=bad)), configured=True).status == "failed", bad


def test_valid_request_is_pending():
    assert triage(parse_request(_data()), configured=True).status == "pending"


def test_recipient_replaces_the_configured_to_and_adds_from_bcc_and_key_header():
    url = recipient_url("mailtos://user:pw@smtp.example.com:587?to=ops@example.com&mode=starttls",
                        "sales@sup1.example", sender="po@shop.example", bcc=["buyer@shop.example"],
                        idempotency_key="k-7-2")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "mailtos" and parts.netloc == "user:pw@smtp.example.com:587"
    assert query["to"] == ["sales@sup1.example"] and query["from"] == ["po@shop.example"]
    assert query["bcc"] == ["buyer@shop.example"] and query["mode"] == ["starttls"]
    assert query["+X-Replenish-Idempotency-Key"] == ["k-7-2"]


def test_recipient_url_keeps_configured_from_when_none_given():
    query = parse_qs(urlsplit(recipient_url("mailto://h:25?from=a@shop.example", "s@sup.example")).query)
    assert query == {"from": ["a@shop.example"], "to": ["s@sup.example"]}


def test_recipient_url_refuses_non_mail_urls():
    with pytest.raises(ValueError):
        recipient_url("json://h/x", "s@sup.example")


def test_body_names_supplier_po_revision_and_file_in_both_locales():
    request = parse_request(_data())
    en, zh = email_body(request, "en"), email_body(request, "zh")
    assert en.startswith("Dear Acme Foods,") and "purchase order PO-7 (revision 2)" in en and "PO-7.csv" in en
    assert zh.startswith("Acme Foods，您好") and "采购单 PO-7（第 2 版）" in zh
    assert email_body(parse_request(_data(supplier_name=None))).startswith("Dear SUP-1,")
