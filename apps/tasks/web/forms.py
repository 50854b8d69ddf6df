from __future__ import annotations

import re

from django import forms

from apps.crowds.models import WorkerGroup
from apps.tasks.models import Batch, Project

BLOCKING_FIELDS = [
    "block_below_spam_score",
    "block_min_answers",
    "block_gold_accuracy",
    "block_min_gold",
    "block_below_skill",
]


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
    review_below = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        required=False,
        initial=Project._meta.get_field("review_below").default,
        help_text=Project._meta.get_field("review_below").help_text + " Empty: the default.",
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "description",
            "item_kind",
            "labels",
            "auto_label_accuracy",
            "confidence_threshold",
            "min_overlap",
            "max_overlap",
            "target_posterior",
            "min_vote_lead",
            "review_below",
            "gold_share",
            "reward_per_answer",
            "lease_seconds",
            "qualification_size",
            "qualification_pass_rate",
            "aggregation_method",
            "callback_url",
            *BLOCKING_FIELDS,
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "auto_label_accuracy": (
                "The accuracy you want for auto-labels (for example 0.97): the model's label "
                "is final only where its audited record proves it. Empty: use the threshold."
            ),
            "confidence_threshold": (
                "Used when no accuracy is set: items the model scores at or above this are "
                "auto-labeled; the rest go to people."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in BLOCKING_FIELDS:  # optional: empty means the platform's default
            self.fields[name].required = False
            self.fields[name].help_text += " Empty: the default."

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in BLOCKING_FIELDS:
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = Project._meta.get_field(name).default
        return cleaned

    def clean_min_vote_lead(self) -> int:
        value = self.cleaned_data["min_vote_lead"]
        return Project._meta.get_field("min_vote_lead").default if value is None else value

    def clean_review_below(self) -> float:
        value = self.cleaned_data["review_below"]
        return Project._meta.get_field("review_below").default if value is None else value

    def clean_labels(self) -> list[str]:
        parts = re.split(r"[\n,]", self.cleaned_data["labels"])
        return [part.strip() for part in parts if part.strip()]


class BlockingForm(forms.ModelForm):
    """The block rules on the project page; `project_update` does the write."""

    class Meta:
        model = Project
        fields = BLOCKING_FIELDS


class ThresholdForm(forms.Form):
    """The slider: an accuracy for auto-labels (the threshold follows from the model's
    record), or a confidence threshold by hand. `confirm`: send the auto-labels below the new
    threshold back to people (the page says how many first)."""

    mode = forms.ChoiceField(
        choices=[("accuracy", "accuracy"), ("threshold", "threshold")], required=False
    )
    auto_label_accuracy = forms.FloatField(min_value=0.5, max_value=0.999, required=False)
    confidence_threshold = forms.FloatField(min_value=0.0, max_value=1.0, required=False)
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("mode"):  # from the field given
            given = self.data.get("auto_label_accuracy") not in (None, "")
            data["mode"] = "accuracy" if given else "threshold"
        wanted = "auto_label_accuracy" if data.get("mode") == "accuracy" else "confidence_threshold"
        if data.get(wanted) is None and wanted not in self.errors:
            self.add_error(wanted, "Give a value.")
        return data

    def settings(self) -> dict:
        """The project fields to save."""
        data = self.cleaned_data
        if data["mode"] == "accuracy":
            return {"auto_label_accuracy": data["auto_label_accuracy"]}
        return {"auto_label_accuracy": None, "confidence_threshold": data["confidence_threshold"]}


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON array or JSON lines (.csv, .json, .jsonl).")
    format = forms.ChoiceField(
        choices=[("", "From the file name"), *Batch.Format.choices], required=False
    )
    model_version = forms.CharField(
        max_length=100, required=False, help_text="For rows without their own model_version."
    )


class VisibilityForm(forms.Form):
    """Who sees the project: everyone, or the workers of the owner's chosen groups."""

    visibility = forms.ChoiceField(
        choices=Project.Visibility.choices, widget=forms.RadioSelect, label="Who sees it"
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=WorkerGroup.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A private project is open to the members of these groups.",
    )

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = WorkerGroup.objects.filter(owner_id=project.owner_id)
        if not self.is_bound:
            self.initial = {"visibility": project.visibility, "groups": list(project.groups.all())}
