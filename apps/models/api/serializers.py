from __future__ import annotations

from rest_framework import serializers

from apps.models.active import STRATEGIES
from apps.models.models import LearningSettings, ModelVersion, RescoreRun, TrainingRun


class ModelVersionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    evidence_accuracy = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Accuracy on the held-out and audited items people judged (evidence_n).",
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "number",
            "source",
            "is_active",
            "created_at",
            "promoted_at",
            "retired_at",
            "promotion_reason",
            "n_train",
            "n_holdout",
            "labels_by_source",
            "accuracy",
            "macro_f1",
            "ece",
            "compared_with",
            "sklearn_version",
            "train_seconds",
            "calibration",
            "label_set",
            "evidence_n",
            "evidence_correct",
            "evidence_accuracy",
            "accuracy_low",
            "evidence_at",
        ]
        read_only_fields = fields


class TrainingRunSerializer(serializers.ModelSerializer):
    model_version = serializers.CharField(
        source="model_version.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = TrainingRun
        fields = ["id", "status", "trigger", "started_at", "finished_at", "detail", "model_version"]
        read_only_fields = fields


class RescoreSerializer(serializers.ModelSerializer):
    model_version = serializers.CharField(source="model_version.name", read_only=True)

    class Meta:
        model = RescoreRun
        fields = [
            "id",
            "model_version",
            "status",
            "total",
            "done",
            "auto_labeled",
            "audited",
            "reprioritized",
            "started_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields


class LearningSettingsSerializer(serializers.ModelSerializer):
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False)
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="null: never changed (the defaults)."
    )

    class Meta:
        model = LearningSettings
        fields = [
            "model_enabled",
            "retrain_after_labels",
            "promotion_metric",
            "promotion_min_gain",
            "holdout_fraction",
            "strategy",
            "audit_share",
            "pre_annotation",
            "suspected_error_threshold",
            "people_batch",
            "learning_config",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class PredictInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=255, required=False, allow_blank=False)
    payload = serializers.JSONField()


class PredictLabeled(serializers.Serializer):
    item_id = serializers.IntegerField()
    external_id = serializers.CharField()
    label = serializers.CharField()
    confidence = serializers.FloatField()
    model_version = serializers.CharField()


class PredictQueued(serializers.Serializer):
    item_id = serializers.IntegerField()
    external_id = serializers.CharField()
    status = serializers.CharField()
    poll_url = serializers.CharField()


class FeedbackInput(serializers.Serializer):
    label = serializers.CharField(max_length=100)
    accepted = serializers.BooleanField()


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    item_id = serializers.IntegerField()
    label = serializers.CharField()
    accepted = serializers.BooleanField()
    model_label = serializers.CharField()
    created_at = serializers.DateTimeField()


class QueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    detail = serializers.CharField()


class AutoLabelPreviewInput(serializers.Serializer):
    auto_label_accuracy = serializers.FloatField(
        required=False, allow_null=True, min_value=0.5, max_value=0.999
    )
    confidence_threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)


class AutoLabelPreviewSerializer(serializers.Serializer):
    auto_label_accuracy = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(
        allow_null=True, help_text="The confidence threshold it gives; null: nothing auto-labels."
    )
    evidence_n = serializers.IntegerField(
        allow_null=True, help_text="Judged items at or above the threshold (all when none)."
    )
    evidence_accuracy = serializers.FloatField(allow_null=True)
    evidence_low = serializers.FloatField(allow_null=True)
    reopened = serializers.IntegerField(
        help_text="Auto-labeled items below the threshold: they would go back to people."
    )
