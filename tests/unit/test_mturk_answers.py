"""The answer XML as MTurk returned it, and the AssignmentId of a lease."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest

from apps.mturk.answers import NAMESPACE, question_form_answers
from apps.mturk.assignment_ids import assignment_id_of, assignment_pk_of

NS = {"q": NAMESPACE}


def parsed(xml: str) -> dict[str, str]:
    root = fromstring(xml.encode("ascii"))
    return {
        a.findtext("q:QuestionIdentifier", namespaces=NS): a.findtext("q:FreeText", namespaces=NS)
        for a in root.findall("q:Answer", NS)
    }


def test_one_answer_per_field_without_the_assignment_id_exactly_as_mturk_wrote_it():
    xml = question_form_answers([("assignmentId", "X"), ("cat", "yes"), ("note", "")])
    assert xml == (
        '<?xml version="1.0" encoding="ASCII"?><QuestionFormAnswers xmlns="'
        + NAMESPACE
        + '"><Answer><QuestionIdentifier>cat</QuestionIdentifier><FreeText>yes</FreeText>'
        "</Answer><Answer><QuestionIdentifier>note</QuestionIdentifier><FreeText></FreeText>"
        "</Answer></QuestionFormAnswers>"
    )


def test_markup_accents_and_line_breaks_come_back_as_typed():
    typed = 'Tom & "Jerry" <b>\u00e9t\u00e9 \U0001f431</b>\r\nline two'
    xml = question_form_answers([("q1", typed), ("<&>", "x")])
    assert xml.isascii()
    assert parsed(xml) == {"q1": typed, "<&>": "x"}


def test_a_field_posted_twice_is_one_answer_joined_with_a_bar():
    assert parsed(question_form_answers([("pets", "cat"), ("n", "1"), ("pets", "dog")])) == {
        "pets": "cat|dog",
        "n": "1",
    }


def test_characters_xml_cannot_carry_are_dropped_not_breaking_the_document():
    assert parsed(question_form_answers([("q", "a\x00b\x1fc\ud800")])) == {"q": "abc"}


def test_no_fields_is_an_empty_document():
    assert parsed(question_form_answers([])) == {}


def test_an_assignment_id_names_its_lease_and_cannot_be_forged(settings):
    settings.SECRET_KEY = "k" * 50
    aid = assignment_id_of(12345)
    assert len(aid) == 30 and aid.isalnum() and aid.upper() == aid
    assert assignment_pk_of(aid) == 12345
    other = assignment_id_of(12346)
    assert assignment_pk_of(other[:10] + aid[10:]) is None  # another row with this MAC
    last = "A" if aid[-1] != "A" else "B"
    assert assignment_pk_of(aid[:-1] + last) is None
    settings.SECRET_KEY = "j" * 50
    assert assignment_pk_of(aid) is None


@pytest.mark.parametrize("value", ["", "ASSIGNMENT_ID_NOT_AVAILABLE", "a" * 30, "0" * 31, None])
def test_what_is_no_assignment_id_names_nothing(value):
    assert assignment_pk_of(value) is None
