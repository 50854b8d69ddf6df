from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.crowds.models import WorkerGroup
from apps.crowds.selectors import group_list_for_requester
from apps.tasks.models import Project, validate_label_set


class OwnGroupField(serializers.PrimaryKeyRelatedField):
    """A group id among the requester's own (another requester's reads as no such group)."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return WorkerGroup.objects.none()
        return group_list_for_requester(user=request.user)


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    groups = OwnGroupField(
        many=True,
        required=False,
        help_text="Ids of my groups (groups/) a private project is open to; a public project "
        "ignores them.",
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "owner",
            "name",
            "description",
            "kind",
            "item_kind",
            "labels",
            "min_overlap",
            "max_overlap",
            "target_posterior",
            "min_vote_lead",
            "review_below",
            "auto_label_accuracy",
            "confidence_threshold",
            "gold_share",
            "reward_per_answer",
            "budget",
            "callback_url",
            "lease_seconds",
            "qualification_size",
            "qualification_pass_rate",
            "aggregation_method",
            "is_open",
            "visibility",
            "groups",
            "block_below_spam_score",
            "block_below_skill",
            "block_min_answers",
            "block_gold_accuracy",
            "block_min_gold",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "kind", "created_at", "updated_at"]
        extra_kwargs = {
            "labels": {"help_text": "The label set: 2 to 50 distinct strings.", "required": True},
            "kind": {
                "help_text": "`native`, or `mturk`: the project an MTurk HIT type is, made "
                "through the MTurk API (docs/mturk.md)."
            },
            "visibility": {
                "help_text": "`public`: every worker sees it; `private`: only the members of "
                "its `groups`."
            },
        }

    def validate_labels(self, value: object) -> object:
        # A native project's label set (the model checks it again, by kind, in clean()).
        try:
            validate_label_set(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class AutomationSerializer(serializers.Serializer):
    labeled = serializers.IntegerField(
        help_text="Items with a final label: auto-labeled, consensus or resolved."
    )
    auto = serializers.IntegerField(help_text="Of those, the items the model labeled.")
    rate = serializers.FloatField(allow_null=True, help_text="auto / labeled; null: none yet.")


class ProjectDetailSerializer(ProjectSerializer):
    item_counts = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="Items per state."
    )
    callback_secret = serializers.CharField(
        read_only=True, help_text="Key of the HMAC-SHA256 signature on callbacks."
    )
    budget_remaining = serializers.DecimalField(
        max_digits=18,
        decimal_places=4,
        read_only=True,
        allow_null=True,
        help_text="Budget minus spend and live leases' rewards; null: no budget.",
    )
    budget_exhausted = serializers.BooleanField(
        read_only=True, help_text="No more tasks are served until the budget is raised."
    )
    auto_labels_reopened = serializers.IntegerField(
        read_only=True,
        default=0,
        help_text="Auto-labels this change sent back to people (GET auto-label-preview first).",
    )
    auto_label_threshold = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="The confidence threshold in force: derived from the model's audited record "
        "when auto_label_accuracy is set (null: nothing auto-labels yet), else "
        "confidence_threshold.",
    )

    held_for_model = serializers.IntegerField(
        read_only=True,
        default=0,
        help_text="Of the waiting items, those the pacing holds back until the model has "
        "learned from people's latest labels (learning settings people_batch).",
    )
    automation = AutomationSerializer(
        read_only=True,
        help_text="The automation rate, as every page shows it (README, 'Automation rate').",
    )

    class Meta(ProjectSerializer.Meta):
        fields = [
            *ProjectSerializer.Meta.fields,
            "item_counts",
            "held_for_model",
            "automation",
            "callback_secret",
            "budget_remaining",
            "budget_exhausted",
            "auto_label_threshold",
            "auto_labels_reopened",
        ]
