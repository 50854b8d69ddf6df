"""The requester's page forms for the MTurk API's objects; the services do the writes."""

from __future__ import annotations

import re

from django import forms

from apps.mturk.services.categorical import FIELD_MAX


class LabelFieldForm(forms.Form):
    """A HIT type's categorical answer field (apps/mturk/services/categorical.py): the form
    field whose value is the label, and the label set; both empty make the answers free form
    again. The service checks them as the API's PUT label-field/ does."""

    field = forms.CharField(
        max_length=FIELD_MAX,
        required=False,
        label="Answer field",
        help_text="The name of the form field (QuestionIdentifier) whose value is the label.",
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One label per line (or separated by commas), 2 to 50: the values the field "
        "posts. An answer with another value carries no label.",
    )

    def clean_field(self) -> str:
        return self.cleaned_data["field"].strip()

    def clean_labels(self) -> list[str]:
        parts = re.split(r"[\n,]", self.cleaned_data["labels"])
        return [part.strip() for part in parts if part.strip()]
