"""Admin for private crowds: groups, memberships and invite links (registered in groups.py)."""

from apps.crowds.admin import groups  # noqa: F401
