"""The CSV door: rows of one event type become canonical events (header = data fields + id, source, time)."""
from __future__ import annotations

import csv
import io
from typing import Any

ENVELOPE_FIELDS = ("id", "source", "time")
# Codes stay text even when they look like numbers (barcodes, store numbers).
TEXT_FIELDS = {"sku", "location", "supplier_id", "po_id", "channel", "order_id", "unit", "reason", "kind",
               "from_location", "to_location", "like_sku", "name", "category", "base_unit"}
MAX_ROWS = 10_000


def _value(text: str) -> Any:
    """Numbers become numbers; empty cells are absent; everything else stays text for validation."""
    text = text.strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def parse_csv(body: bytes, event_type: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(events, file-level problems). Row-level problems are left to per-event validation."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["body: must be UTF-8 text"]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [f for f in ENVELOPE_FIELDS if f not in header]
    if missing:
        return [], [f"header: missing column(s) {', '.join(missing)}"]
    events = []
    for row in reader:
        fields = {k.strip(): v for k, v in row.items() if k is not None}
        data = {k: (v.strip() or None) if k in TEXT_FIELDS else _value(v)
                for k, v in fields.items() if k not in ENVELOPE_FIELDS and v is not None}
        events.append({"id": fields.get("id", "").strip(), "source": fields.get("source", "").strip(),
                       "type": event_type, "time": fields.get("time", "").strip(),
                       "data": {k: v for k, v in data.items() if v is not None}})
        if len(events) > MAX_ROWS:
            break
    return events, []
