from __future__ import annotations

from django import forms

from apps.panels.models import PanelLink
from apps.panels.services import CREATE_FIELDS


class PanelLinkForm(forms.ModelForm):
    """Fields and widgets for `panel_link_create` and `panel_link_update`; the services do
    the writes."""

    class Meta:
        model = PanelLink
        fields = list(CREATE_FIELDS)
        widgets = {
            # The format a datetime-local input shows a link's expiry in (the edit page).
            "expires_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "completion_url": forms.URLInput(
                attrs={"placeholder": "https://app.prolific.com/submissions/complete"}
            ),
        }
