"""Projects, their items, the HITs sent to people, assignments and answers.

State changes go through `services.py`; nothing here is saved directly from a view. Counters
(batch counts, answers per HIT) are recomputed from these rows inside services, never kept up
by signals.

One module per concern; everything is re-exported here, so `from apps.tasks.models import X`
is the one way to import a model:

- `projects.py`: Project, its defaults and the label set's rules;
- `guidelines.py`: GuidelineVersion, GuidelineAcknowledgement;
- `items.py`: Batch, Item, HIT, ReviewItem (the admin's proxy);
- `assignments.py`: Assignment, Answer;
- `consensus.py`: AggregationRun, AggregationState;
- `audit.py`: AuditEvent.
"""

from apps.tasks.models.assignments import COUNTED_ANSWERS, Answer, AnswerQuerySet, Assignment
from apps.tasks.models.audit import AuditEvent
from apps.tasks.models.consensus import AggregationRun, AggregationState
from apps.tasks.models.guidelines import GuidelineAcknowledgement, GuidelineVersion
from apps.tasks.models.items import HIT, Batch, Item, ReviewItem
from apps.tasks.models.projects import (
    DEFAULT_BLOCK_BELOW_SPAM_SCORE,
    DEFAULT_BLOCK_GOLD_ACCURACY,
    DEFAULT_BLOCK_MIN_ANSWERS,
    DEFAULT_BLOCK_MIN_GOLD,
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    Project,
    new_callback_secret,
    validate_label_set,
)

__all__ = [
    "COUNTED_ANSWERS",
    "DEFAULT_BLOCK_BELOW_SPAM_SCORE",
    "DEFAULT_BLOCK_GOLD_ACCURACY",
    "DEFAULT_BLOCK_MIN_ANSWERS",
    "DEFAULT_BLOCK_MIN_GOLD",
    "HIT",
    "MAX_LABELS",
    "MAX_LABEL_LENGTH",
    "AggregationRun",
    "AggregationState",
    "Answer",
    "AnswerQuerySet",
    "Assignment",
    "AuditEvent",
    "Batch",
    "GuidelineAcknowledgement",
    "GuidelineVersion",
    "Item",
    "Project",
    "ReviewItem",
    "new_callback_secret",
    "validate_label_set",
]
