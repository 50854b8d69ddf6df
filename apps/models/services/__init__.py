"""Writes of the learning loop. Other apps call `labels_changed` (after consensus writes
labels) and `suggestion_for` (pre-annotation); everything else is used by this app's API,
jobs, admin and commands."""

from apps.models.services.hooks import labels_changed, pre_annotation_on, suggestion_for

__all__ = ["labels_changed", "pre_annotation_on", "suggestion_for"]
