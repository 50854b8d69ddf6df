"""A HIT's Question: MTurk's ExternalQuestion or HTMLQuestion XML, checked as MTurk's schemas
did before a HIT is stored. QuestionForm (MTurk's own form language) is not built and is
refused by name.

The XML comes from the requester, so it is parsed with defusedxml: a DTD (and with it every
entity, the billion-laughs and external-entity attacks) is refused outright, before any
expansion. Pure: no Django, no project code (tests/unit/test_pure_modules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

# MTurk's limit on the Question parameter, in bytes of UTF-8, whitespace included.
MAX_QUESTION_BYTES = 65535
SCHEMAS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
NAMESPACES = {
    "ExternalQuestion": SCHEMAS + "2006-07-14/ExternalQuestion.xsd",
    "HTMLQuestion": SCHEMAS + "2011-11-11/HTMLQuestion.xsd",
}
ELEMENTS = {
    "ExternalQuestion": frozenset({"ExternalURL", "FrameHeight"}),
    "HTMLQuestion": frozenset({"HTMLContent", "FrameHeight"}),
}
QUESTION_FORM = "QuestionForm"
# An ExternalURL is framed in the worker's page: HTTPS, as MTurk required, or plain HTTP on
# the worker's own machine (a requester's development server; browsers trust loopback).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_FRAME_HEIGHT = 100_000


class QuestionInvalid(ValueError):
    """The Question is not one this server takes; the message says why, for the requester."""


@dataclass(frozen=True)
class Question:
    kind: str  # "external" or "html"
    frame_height: int
    external_url: str = ""
    html: str = ""


def question_parse(xml: str) -> Question:
    """The checked question, or QuestionInvalid."""
    if len(xml.encode("utf-8")) > MAX_QUESTION_BYTES:
        raise QuestionInvalid(f"The Question is larger than {MAX_QUESTION_BYTES} bytes.")
    root = _parse(xml)
    namespace, _, name = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", "")
    name = name or root.tag
    if name == QUESTION_FORM:
        raise QuestionInvalid(
            "QuestionForm questions are not supported by this server: use an ExternalQuestion "
            "or an HTMLQuestion."
        )
    if name not in NAMESPACES:
        raise QuestionInvalid(
            f"The Question must be an ExternalQuestion or an HTMLQuestion, not {name!r}."
        )
    if namespace != NAMESPACES[name]:
        raise QuestionInvalid(f"An {name} must be in the namespace {NAMESPACES[name]!r}.")
    children = _children(root, namespace, ELEMENTS[name])
    height = _frame_height(children.get("FrameHeight"))
    if name == "ExternalQuestion":
        return Question("external", height, external_url=_external_url(children))
    html = (children.get("HTMLContent") or "").strip()
    if not html:
        raise QuestionInvalid("An HTMLQuestion needs a non-empty HTMLContent.")
    return Question("html", height, html=html)


def _parse(xml: str) -> Element:
    try:
        return fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise QuestionInvalid("The Question must not contain a DTD or entities.") from None
    except ParseError as exc:
        raise QuestionInvalid(f"The Question is not well-formed XML: {exc}.") from None


def _children(root: Element, namespace: str, expected: frozenset[str]) -> dict[str, str]:
    """Each child element's text by local name; an unknown or repeated child is refused, and
    so is markup inside one (HTMLContent's HTML goes in a CDATA section, as on MTurk)."""
    found: dict[str, str] = {}
    for child in root:
        local = child.tag.removeprefix("{" + namespace + "}")
        if local not in expected or local in found:
            raise QuestionInvalid(f"Unexpected element {local!r} in the Question.")
        if len(child):
            raise QuestionInvalid(f"{local} must be text (put HTML in a CDATA section).")
        found[local] = child.text or ""
    return found


def _frame_height(text: str | None) -> int:
    if text is None:
        raise QuestionInvalid("The Question needs a FrameHeight (0: the full window).")
    value = text.strip()
    if not value.isdigit() or int(value) > MAX_FRAME_HEIGHT:
        raise QuestionInvalid(
            f"FrameHeight must be a whole number of pixels, 0 to {MAX_FRAME_HEIGHT}."
        )
    return int(value)


def _external_url(children: dict[str, str]) -> str:
    url = (children.get("ExternalURL") or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    secure = parts is not None and parts.scheme == "https"
    loopback = parts is not None and parts.scheme == "http" and host in LOOPBACK_HOSTS
    if not host or not (secure or loopback) or len(url) > 2000:
        raise QuestionInvalid(
            "ExternalURL must be an https:// address (http:// only on localhost), at most 2000 "
            "characters."
        )
    return url
