from __future__ import annotations

from django import forms

from apps.panels.models import PanelLink


class PanelLinkForm(forms.ModelForm):
    """Fields and widgets for `panel_link_create`; the service does the write."""

    class Meta:
        model = PanelLink
        fields = [
            "name",
            "quota",
            "completion_code",
            "screened_out_code",
            "completion_url",
            "participant_param",
            "study_param",
            "session_param",
            "expires_at",
        ]
        widgets = {
            "expires_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "completion_url": forms.URLInput(
                attrs={"placeholder": "https://app.prolific.com/submissions/complete"}
            ),
        }
