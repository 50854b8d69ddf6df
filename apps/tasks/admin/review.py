"""The disagreement queue: items that reached the maximum overlap still unsure, lowest posterior
first, with their answers, the workers' skills and the posterior per class. An admin resolves
an item by choosing a label, in its change form or with the list action (the label picked in
the action bar); the resolution is recorded with who and when and counts as gold afterwards.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html_join

from apps.tasks.admin.display import ShowsItem
from apps.tasks.models import Answer, Item, ReviewItem
from apps.tasks.services.items import (
    MAX_MORE_ANSWERS,
    item_mark_ambiguous,
    item_resolve,
    item_send_back,
)
from apps.workers.admin.blocking import worker_block_link
from apps.workers.models import WorkerStats
from hitlcrowd.errors import DomainError
from hitlcrowd.params import ascii_int

DEFAULT_MORE_ANSWERS = 2


class ReviewAnswerInline(admin.TabularInline):
    model = Answer
    fk_name = "item"
    fields = [
        "worker", "label", "worker_skill", "worker_spam_score", "worker_agreement",
        "seconds_spent", "created_at", "block_worker",
    ]  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Answer]:
        stats = WorkerStats.objects.filter(worker=OuterRef("worker"), project=OuterRef("project"))
        return (
            super()
            .get_queryset(request)
            .select_related("worker")
            .annotate(
                skill=Subquery(stats.values("skill")[:1]),
                spam_score=Subquery(stats.values("spam_score")[:1]),
                agreement=Subquery(stats.values("agreement")[:1]),
            )
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="skill")
    def worker_skill(self, answer: Answer) -> str:
        return "-" if answer.skill is None else f"{answer.skill:.2f}"

    @admin.display(description="spam score (0 = random)")
    def worker_spam_score(self, answer: Answer) -> str:
        return "-" if answer.spam_score is None else f"{answer.spam_score:.2f}"

    @admin.display(description="agrees with consensus")
    def worker_agreement(self, answer: Answer) -> str:
        return "-" if answer.agreement is None else f"{answer.agreement:.0%}"

    @admin.display(description="")
    def block_worker(self, answer: Answer) -> str:
        return worker_block_link(answer.worker_id, answer.project_id)


class ResolveForm(forms.ModelForm):
    resolution = forms.ChoiceField(
        label="Resolve as", required=False, help_text="Pick the label to settle this item."
    )

    class Meta:
        model = ReviewItem
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = self.instance.project.labels if self.instance.pk else []
        self.fields["resolution"].choices = [("", "---"), *((v, v) for v in labels)]
        if self.instance.label_source == Item.Source.ADMIN:
            self.fields["resolution"].initial = self.instance.final_label


class ResolveActionForm(ActionForm):
    label = forms.CharField(required=False, help_text="Label for 'resolve with the label'.")
    # Checked by item_send_back, so a bad number gets its message rather than "no action".
    more = forms.CharField(
        required=False,
        initial=DEFAULT_MORE_ANSWERS,
        max_length=6,
        help_text=f"Answers to ask for when sending back (1 to {MAX_MORE_ANSWERS}).",
    )


@admin.register(ReviewItem)
class ReviewItemAdmin(ShowsItem, admin.ModelAdmin):
    form = ResolveForm
    action_form = ResolveActionForm
    actions = [
        "resolve_with_label",
        "resolve_with_consensus",
        "send_back_for_more_answers",
        "mark_ambiguous",
    ]
    inlines = [ReviewAnswerInline]
    list_display = [
        "external_id", "item_thumbnail", "project", "final_label", "final_confidence",
        "posterior_per_class", "updated_at",
    ]  # fmt: skip
    list_filter = ["project"]
    list_select_related = ["project"]
    search_fields = ["=external_id"]
    readonly_fields = [
        "external_id", "project", "as_the_worker_saw_it", "final_label", "final_confidence",
        "posterior_per_class", "consensus_method", "aggregation_run",
    ]  # fmt: skip
    fields = [*readonly_fields, "resolution"]
    show_full_result_count = False

    # Lowest posterior first: the most doubtful items are the most worth a human look.
    ordering = [F("final_confidence").asc(nulls_first=True), "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewItem]:
        return super().get_queryset(request).filter(state=Item.State.NEEDS_REVIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="posterior per class")
    def posterior_per_class(self, item: Item):
        ranked = sorted((item.posterior or {}).items(), key=lambda kv: -kv[1])
        return format_html_join(", ", "{}: {}", ((k, f"{v:.3f}") for k, v in ranked))

    def save_model(self, request: HttpRequest, obj: ReviewItem, form, change: bool) -> None:
        label = form.cleaned_data.get("resolution")
        if label:
            item_resolve(item_id=obj.pk, label=label, by=request.user)

    @admin.action(description="Resolve with the label typed in the action bar")
    def resolve_with_label(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        label = request.POST.get("label", "").strip()
        self._resolve(request, queryset, lambda item: label)

    @admin.action(description="Resolve with the crowd's consensus label")
    def resolve_with_consensus(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._resolve(request, queryset, lambda item: item.final_label)

    def _resolve(self, request: HttpRequest, queryset, label_of) -> None:
        def resolve(item: ReviewItem) -> None:
            item_resolve(item_id=item.pk, label=label_of(item), by=request.user)

        self._each(request, queryset, "Resolved", resolve)

    @admin.action(description="Send back for more answers (how many in the action bar)")
    def send_back_for_more_answers(
        self, request: HttpRequest, queryset: QuerySet[ReviewItem]
    ) -> None:
        raw = request.POST.get("more", "").strip()
        more = DEFAULT_MORE_ANSWERS if not raw else (ascii_int(raw) or 0)

        def send_back(item: ReviewItem) -> None:
            item_send_back(item_id=item.pk, more=more, by=request.user)

        self._each(request, queryset, "Sent back", send_back)

    @admin.action(description="Mark ambiguous (leaves the queue and training)")
    def mark_ambiguous(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        def ambiguous(item: ReviewItem) -> None:
            item_mark_ambiguous(item_id=item.pk, by=request.user)

        self._each(request, queryset, "Marked ambiguous", ambiguous)

    def _each(self, request: HttpRequest, queryset, verb: str, act) -> None:
        done = 0
        for item in queryset.select_related("project"):
            try:
                act(item)
            except DomainError as exc:
                self.message_user(request, f"{item.external_id}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(request, f"{verb} {done} item(s).", messages.SUCCESS)
