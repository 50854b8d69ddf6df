from __future__ import annotations

import re

from django import forms

from apps.tasks.models import Batch, Project


class ProjectForm(forms.ModelForm):
    """Fields and widgets for `project_create`; the service does the write."""

    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One label per line (or separated by commas), 2 to 50.",
    )
    callback_url = forms.URLField(required=False, assume_scheme="https")
    min_vote_lead = forms.IntegerField(
        min_value=0,
        max_value=50,
        required=False,
        initial=Project._meta.get_field("min_vote_lead").default,
        help_text=Project._meta.get_field("min_vote_lead").help_text + " Empty: the default.",
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "description",
            "item_kind",
            "labels",
            "confidence_threshold",
            "min_overlap",
            "max_overlap",
            "target_posterior",
            "min_vote_lead",
            "gold_share",
            "reward_per_answer",
            "lease_seconds",
            "qualification_size",
            "qualification_pass_rate",
            "aggregation_method",
            "callback_url",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "confidence_threshold": (
                "The speed/quality slider: items the model scores at or above this are "
                "auto-labeled; the rest go to people."
            ),
        }

    def clean_min_vote_lead(self) -> int:
        value = self.cleaned_data["min_vote_lead"]
        return Project._meta.get_field("min_vote_lead").default if value is None else value

    def clean_labels(self) -> list[str]:
        parts = re.split(r"[\n,]", self.cleaned_data["labels"])
        return [part.strip() for part in parts if part.strip()]


class ThresholdForm(forms.Form):
    confidence_threshold = forms.FloatField(min_value=0.0, max_value=1.0)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON array or JSON lines (.csv, .json, .jsonl).")
    format = forms.ChoiceField(
        choices=[("", "From the file name"), *Batch.Format.choices], required=False
    )
    model_version = forms.CharField(
        max_length=100, required=False, help_text="For rows without their own model_version."
    )
