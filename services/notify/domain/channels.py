"""Channel kind of a receiver target, read from its Apprise URL scheme (no Apprise import needed)."""

from __future__ import annotations

from typing import Literal

ChannelKind = Literal["email", "sms", "chat", "webhook"]

_EMAIL = {"mailto", "mailtos", "email", "emails"}
_WEBHOOK = {"json", "jsons", "form", "forms", "xml", "xmls"}
_CHAT = {
    "slack", "msteams", "workflow", "workflows", "wecombot", "dingtalk", "feishu", "lark", "discord",
    "tgram", "telegram", "matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets", "zulip", "ntfy",
    "ntfys", "gchat", "webex", "wxteams", "signal", "signals", "line", "mastodon", "ryver", "twist",
}
_SMS = {
    "twilio", "sns", "clicksend", "bulksms", "msg91", "nexmo", "vonage", "sinch", "plivo", "d7sms",
    "smseagle", "smseagles", "kavenegar", "msgbird", "messagebird", "burstsms", "seven", "sevens",
    "smsmgr", "bulkvs", "httpsms", "africas", "atalk", "freemobile", "voipms", "46elks", "elks",
    "threema", "dapnet", "aliyun", "aliyunsms", "tencentsms",
}


def url_scheme(url: str) -> str:
    """Lower-case scheme before '://', or '' when the text is not a URL."""
    scheme, sep, _ = url.partition("://")
    return scheme.strip().lower() if sep else ""


def channel_kind(url: str) -> ChannelKind:
    """email | sms | chat | webhook; an unknown scheme is treated as chat, the richest text form."""
    scheme = url_scheme(url)
    if scheme in _EMAIL:
        return "email"
    if scheme in _WEBHOOK:
        return "webhook"
    if scheme in _SMS:
        return "sms"
    return "chat"
