"""How a person's verdict on an alert travels until alert outcomes are measured (a later issue)."""
from __future__ import annotations

VERDICTS = ("useful", "noise", "unsure")


def with_verdict(comment: str, verdict: str) -> str:
    """The verdict rides in the acknowledgement's comment, tagged, so nothing of it is lost meanwhile."""
    comment = comment.strip()[:1900]
    return f"[{verdict}] {comment}".strip() if verdict in VERDICTS else comment
