"""Admin for the tasks app: browse everything, change little.

Answers are evidence (immutable, never deleted); batches are import records (read-only); a
published guideline version is frozen. Big foreign keys are raw ids so a change form never
renders a select of millions of rows.

Each model is registered once, in the module of its concern; importing them here is what
registers them (the admin's autodiscover imports this package).
"""

from apps.tasks.admin import audit, guidelines, items, projects, review  # noqa: F401
