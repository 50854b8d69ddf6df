from __future__ import annotations

from django import forms

from apps.panels.models import PanelLink
from apps.panels.services import CREATE_FIELDS


class PanelLinkForm(forms.ModelForm):
    """Fields and widgets for `panel_link_create`; the service does the write."""

    class Meta:
        model = PanelLink
        fields = list(CREATE_FIELDS)
        widgets = {
            "expires_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "completion_url": forms.URLInput(
                attrs={"placeholder": "https://app.prolific.com/submissions/complete"}
            ),
        }
