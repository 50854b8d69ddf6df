from __future__ import annotations

from django import forms

from apps.crowds.models import WorkerGroup
from apps.crowds.services import INVITE_DEFAULT_DAYS, INVITE_MAX_DAYS, INVITE_MAX_USES


class GroupForm(forms.Form):
    name = forms.CharField(max_length=WorkerGroup._meta.get_field("name").max_length)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An active worker's username.")


class InviteForm(forms.Form):
    days = forms.IntegerField(
        min_value=1,
        max_value=INVITE_MAX_DAYS,
        initial=INVITE_DEFAULT_DAYS,
        label="Valid for (days)",
    )
    max_uses = forms.IntegerField(
        min_value=1,
        max_value=INVITE_MAX_USES,
        required=False,
        label="Workers who may join through it",
        help_text="Empty: no limit.",
    )
