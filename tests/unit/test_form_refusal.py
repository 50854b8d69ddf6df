"""hitlcrowd.pages.form_add_refusal: a service's refusal on a page's form."""

from __future__ import annotations

from django import forms

from hitlcrowd.errors import Conflict, InvalidInput
from hitlcrowd.pages import form_add_refusal


class NameForm(forms.Form):
    name = forms.CharField()
    password1 = forms.CharField()


def bound() -> NameForm:
    form = NameForm({"name": "x", "password1": "y"})
    assert form.is_valid()
    return form


def test_a_field_the_service_names_gets_its_message_under_it() -> None:
    form = bound()
    form_add_refusal(form, InvalidInput.field("name", "Taken."))
    assert form.errors == {"name": ["Taken."]}


def test_a_field_the_form_lacks_goes_above_the_form_instead_of_raising() -> None:
    form = bound()
    form_add_refusal(form, InvalidInput(errors={"owner": ["Not yours."], "name": ["Taken."]}))
    assert form.errors == {"__all__": ["Not yours."], "name": ["Taken."]}


def test_a_renamed_field_lands_on_the_forms_name_for_it() -> None:
    form = bound()
    form_add_refusal(
        form, InvalidInput.field("password", "Too short."), renamed={"password": "password1"}
    )
    assert form.errors == {"password1": ["Too short."]}


def test_a_refusal_naming_no_field_shows_its_message_above_the_form() -> None:
    form = bound()
    form_add_refusal(form, Conflict("The project is closed."))
    assert form.non_field_errors() == ["The project is closed."]
