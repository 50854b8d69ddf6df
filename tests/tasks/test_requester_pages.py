from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.tasks.models import Batch, Item, Project
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.services import worker_block
from tests.factories import BatchFactory, HITFactory, ItemFactory, ProjectFactory
from tests.helpers.web import NEW_PROJECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


def upload(client, project, name, content, **extra):
    url = reverse("requester-batch-upload", args=[project.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, content), **extra})


def test_home_sends_a_requester_to_their_projects(browser, requester):
    response = browser(requester).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("requester-projects")


def test_home_sends_workers_and_admins_to_their_pages(browser, worker, admin_user):
    assert browser(worker).get("/")["Location"] == reverse("worker-projects")
    assert browser(admin_user).get("/")["Location"] == reverse("requester-projects")


def test_my_projects_lists_only_mine_with_counts_by_state(
    browser, requester, project, other_requester, django_assert_max_num_queries
):
    ItemFactory.create_batch(3, project=project, state=Item.State.WAITING)
    ItemFactory(project=project, state=Item.State.AUTO_LABELED)
    ProjectFactory(owner=requester, name="Second")
    ProjectFactory(owner=other_requester, name="Not mine")
    client = browser(requester)
    # session + user + projects + one GROUP BY for every project's counts.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("requester-projects"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Animals" in page and "Second" in page
    assert "Not mine" not in page
    rows = {p.name: (counts, total) for p, counts, total in response.context["rows"]}
    counts, total = rows["Animals"]
    assert total == 4
    assert ("waiting", "Waiting for people", 3) in counts


def test_a_requester_creates_a_project_through_the_form(browser, requester):
    response = browser(requester).post(reverse("requester-project-create"), NEW_PROJECT)
    project = Project.objects.get(name="Sentiment")
    assert response.status_code == 302
    assert response["Location"] == reverse("requester-project", args=[project.pk])
    assert project.owner == requester
    assert project.labels == ["positive", "negative", "neutral"]
    assert project.confidence_threshold == 0.8


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labels": "only-one"}, "labels"),
        ({"labels": "a\na"}, "labels"),
        ({"min_overlap": "4", "max_overlap": "2"}, "max_overlap"),
        ({"confidence_threshold": "1.5"}, "confidence_threshold"),
    ],
)
def test_the_form_shows_what_is_wrong_and_creates_nothing(browser, requester, change, field):
    response = browser(requester).post(
        reverse("requester-project-create"), {**NEW_PROJECT, **change}
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Project.objects.exists()


def test_the_project_page_shows_settings_counts_batches_and_export_links(
    browser, requester, project
):
    batch = BatchFactory(project=project, file_name="first.csv", row_count=2)
    ItemFactory(project=project, batch=batch, state=Item.State.AUTO_LABELED)
    ItemFactory(project=project, batch=batch, state=Item.State.WAITING)
    response = browser(requester).get(reverse("requester-project", args=[project.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "cat, dog, bird" in page
    assert 'value="0.9"' in page
    assert "first.csv" in page
    assert 'aria-valuenow="50"' in page
    assert f"/api/v1/projects/{project.pk}/export?format=csv" in page
    assert f"/api/v1/projects/{project.pk}/export?format=jsonl" in page


def test_the_project_page_shows_the_review_bar_trade_off(browser, requester, project):
    for confidence in (0.999, 0.93, 0.7):
        ItemFactory(
            project=project,
            state=Item.State.CONSENSUS,
            final_label="cat",
            label_source=Item.Source.CROWD,
            final_confidence=confidence,
        )
    page = browser(requester).get(reverse("requester-project", args=[project.pk])).content
    page = page.decode()
    assert "Review queue trade-off" in page and "Of the 3 items the crowd decided" in page
    # the project's bar (0.9): one item below it, the others' mean posterior
    assert "0.9 (this project)" in page
    assert f"{(0.999 + 0.93) / 2:.4f}" in page


def test_the_project_page_says_how_much_of_the_spend_went_to_answers_that_no_longer_count(
    browser, requester, project, worker, admin_user
):
    project.reward_per_answer = Decimal("0.05")
    project.save()
    HITFactory(item=ItemFactory(project=project), answers_wanted=2)
    lease = assignment_claim(worker=worker, project=project)
    assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1.0)
    url = reverse("requester-project", args=[project.pk])
    assert "no longer count" not in browser(requester).get(url).content.decode()

    worker_block(worker=worker, project=project, reason="Copy-pasting", by=admin_user)

    page = browser(requester).get(url).content.decode()
    assert "spent 0.0500 (0.0500 of it for answers that no longer count" in page


def test_the_project_page_says_when_nothing_was_decided_yet(browser, requester, project):
    page = browser(requester).get(reverse("requester-project", args=[project.pk])).content
    assert "No item decided by the crowd yet" in page.decode()


def test_the_owner_moves_the_slider_on_the_page(browser, requester, project):
    url = reverse("requester-project-threshold", args=[project.pk])
    assert browser(requester).post(url, {"confidence_threshold": "0.75"}).status_code == 302
    project.refresh_from_db()
    assert project.confidence_threshold == 0.75
    browser(requester).post(url, {"confidence_threshold": "2"})
    project.refresh_from_db()
    assert project.confidence_threshold == 0.75


def test_an_upload_through_the_form_imports_and_shows_the_batch(browser, requester, project):
    content = b"external_id,text,prediction,confidence\na,a cat,cat,0.95\nb,a dog,dog,0.2\n"
    client = browser(requester)
    response = upload(client, project, "pets.csv", content)
    batch = Batch.objects.get(project=project, status=Batch.Status.IMPORTED)
    assert response.status_code == 302
    assert response["Location"] == reverse("requester-batch", args=[batch.pk])
    states = dict(Item.objects.filter(project=project).values_list("external_id", "state"))
    assert states == {"a": "auto_labeled", "b": "waiting"}
    page = client.get(response["Location"]).content.decode()
    assert "pets.csv" in page
    assert "1 / 2 done" in page


def test_a_rejected_upload_shows_the_row_errors_in_a_table(browser, requester, project):
    content = b"external_id,text,prediction\na,a cat,cat\nb,a dog,horse\nc,,dog\n"
    response = upload(browser(requester), project, "bad.csv", content)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Upload rejected" in page
    assert "horse" in page
    errors = response.context["rejection"].errors
    assert {e["row"] for e in errors} >= {2}
    assert not Item.objects.filter(project=project).exists()
    rejected = Batch.objects.get(project=project, status=Batch.Status.REJECTED)
    batch_page = browser(requester).get(reverse("requester-batch", args=[rejected.pk]))
    assert "horse" in batch_page.content.decode()


def test_an_upload_without_a_file_is_refused_on_the_form(browser, requester, project):
    response = browser(requester).post(reverse("requester-batch-upload", args=[project.pk]), {})
    assert response.status_code == 400
    assert "file" in response.context["upload_form"].errors


def test_workers_get_403_on_every_requester_page(browser, worker, project):
    batch = BatchFactory(project=project)
    client = browser(worker)
    for url in page_urls(project, batch):
        assert client.get(url).status_code == 403, url
    assert upload(client, project, "x.csv", b"external_id,text\na,b\n").status_code == 403
    assert not Item.objects.exists()


def test_another_requester_gets_404_on_my_project_and_batches(browser, other_requester, project):
    batch = BatchFactory(project=project)
    client = browser(other_requester)
    for url in page_urls(project, batch)[2:]:
        assert client.get(url).status_code == 404, url
    assert upload(client, project, "x.csv", b"external_id,text\na,b\n").status_code == 404
    threshold = reverse("requester-project-threshold", args=[project.pk])
    assert client.post(threshold, {"confidence_threshold": "0.1"}).status_code == 404
    assert not Item.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, project):
    batch = BatchFactory(project=project)
    for url in page_urls(project, batch):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_admin_sees_any_project_page(browser, admin_user, project):
    response = browser(admin_user).get(reverse("requester-project", args=[project.pk]))
    assert response.status_code == 200


def page_urls(project, batch):
    return [
        reverse("requester-projects"),
        reverse("requester-project-create"),
        reverse("requester-project", args=[project.pk]),
        reverse("requester-batch", args=[batch.pk]),
    ]


def test_the_owner_sets_the_blocking_rules_on_the_page(browser, requester, project):
    page = browser(requester).get(reverse("requester-project", args=[project.pk]))
    assert "Quality control" in page.content.decode()
    assert 'name="block_below_spam_score"' in page.content.decode()
    url = reverse("requester-project-blocking", args=[project.pk])
    rules = {
        "block_below_spam_score": "0.3",
        "block_min_answers": "40",
        "block_gold_accuracy": "0",
        "block_min_gold": "5",
        "block_below_skill": "0",
    }
    assert browser(requester).post(url, rules).status_code == 302
    project.refresh_from_db()
    assert (project.block_below_spam_score, project.block_min_answers) == (0.3, 40)
    assert project.block_gold_accuracy == 0
    refused = browser(requester).post(url, {**rules, "block_below_spam_score": "3"})
    assert refused.status_code == 400
    assert "block_below_spam_score" in refused.context["blocking_form"].errors
    project.refresh_from_db()
    assert project.block_below_spam_score == 0.3


def test_another_requester_cannot_set_my_blocking_rules(browser, other_requester, project):
    url = reverse("requester-project-blocking", args=[project.pk])
    assert browser(other_requester).post(url, {"block_below_spam_score": "0"}).status_code == 404


def test_a_project_made_through_the_form_without_rules_gets_the_defaults(browser, requester):
    browser(requester).post(reverse("requester-project-create"), NEW_PROJECT)
    project = Project.objects.get(name="Sentiment")
    assert (
        project.block_below_spam_score == Project._meta.get_field("block_below_spam_score").default
    )
