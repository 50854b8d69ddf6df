"""The worker's answer as MTurk returned it to the requester: a QuestionFormAnswers document
with one Answer (QuestionIdentifier, FreeText) per form field the requester's page posted to
externalSubmit, `assignmentId` left out. Pure: no Django, no project code.

MTurk's documents were ASCII (`<?xml version="1.0" encoding="ASCII"?>`), other characters
written as character references, and a field posted several times (checkboxes) was one
Answer, its values joined with `|`; so are ours, so a requester's parser reads them as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree import ElementTree  # only documents written here (question_form_answers)

NAMESPACE = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"
    "QuestionFormAnswers.xsd"
)
ASSIGNMENT_FIELD = "assignmentId"
HEAD = f'<?xml version="1.0" encoding="ASCII"?><QuestionFormAnswers xmlns="{NAMESPACE}">'
TAIL = "</QuestionFormAnswers>"
# What XML 1.0 cannot carry at all, even as a reference: dropped rather than making the
# document unreadable for the requester.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def question_form_answers(fields: Iterable[tuple[str, str]]) -> str:
    """The QuestionFormAnswers XML of the posted (name, value) pairs, in the order the form
    sent them (a repeated name: where it first came)."""
    values: dict[str, list[str]] = {}
    for name, value in fields:
        if name != ASSIGNMENT_FIELD:
            values.setdefault(name, []).append(value)
    answers = "".join(
        f"<Answer><QuestionIdentifier>{_text(name)}</QuestionIdentifier>"
        f"<FreeText>{_text('|'.join(posted))}</FreeText></Answer>"
        for name, posted in values.items()
    )
    return HEAD + answers + TAIL


def _text(value: str) -> str:
    escaped = NOT_XML.sub("", value).translate(ESCAPES)
    return escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")


def posted_value(fields: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value the form posted for `name` as its Answer holds it (several joined with
    `|`), None when it posted none."""
    posted = [value for field, value in fields if field == name]
    return "|".join(posted) if posted else None


def answer_value(document: str, name: str) -> str | None:
    """The FreeText of the Answer for `name` in a QuestionFormAnswers document this module
    wrote, None when it has none."""
    root = ElementTree.fromstring(document)
    for answer in root.iter(f"{{{NAMESPACE}}}Answer"):
        if answer.findtext(f"{{{NAMESPACE}}}QuestionIdentifier") == name:
            return answer.findtext(f"{{{NAMESPACE}}}FreeText") or ""
    return None
