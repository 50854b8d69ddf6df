from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from apps.tasks.jobs import expire_leases_job
from apps.tasks.models import HIT, Assignment
from apps.tasks.selectors.assignments import item_ref
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.slots import assignment_expire_due
from tests.factories import HITFactory, WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_project(project):
    project.gold_share = 0
    project.save()
    return project


def _expire(assignment):
    past = timezone.now() - timedelta(seconds=1)
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=past)


def test_an_expired_lease_gives_its_slot_back(real_project, worker, other_worker):
    hit = HITFactory(item__project=real_project, answers_wanted=1)
    lease = assignment_claim(worker=worker, project=real_project)
    assert assignment_claim(worker=other_worker, project=real_project) is None
    _expire(lease)

    assert assignment_expire_due() == 1

    lease.refresh_from_db()
    hit.refresh_from_db()
    assert (lease.state, hit.slots_taken) == (Assignment.State.EXPIRED, 0)
    assert assignment_claim(worker=other_worker, project=real_project).hit_id == hit.pk


def test_the_worker_whose_lease_expired_does_not_get_that_hit_again(real_project, worker):
    HITFactory(item__project=real_project, answers_wanted=2)
    _expire(assignment_claim(worker=worker, project=real_project))
    assert assignment_claim(worker=worker, project=real_project) is None


def test_next_task_expires_leases_lazily(api_client_for, real_project, worker, other_worker):
    hit = HITFactory(item__project=real_project, answers_wanted=1)
    _expire(assignment_claim(worker=worker, project=real_project))
    response = api_client_for(other_worker).post("/api/v1/work/next/", {"project": real_project.id})
    assert response.status_code == 200
    assert response.json()["item"]["ref"] == item_ref(
        worker_id=other_worker.pk, item_id=hit.item_id
    )


def test_live_leases_are_left_alone(real_project, worker):
    lease_hit = HITFactory(item__project=real_project)
    lease = assignment_claim(worker=worker, project=real_project)
    assert expire_leases_job() == 0
    lease.refresh_from_db()
    lease_hit.refresh_from_db()
    assert (lease.state, lease_hit.slots_taken) == (Assignment.State.LEASED, 1)


def test_the_command_and_the_job_expire_every_due_lease(real_project, capsys):
    HITFactory.create_batch(3, item__project=real_project, answers_wanted=1)
    leases = [
        assignment_claim(worker=w, project=real_project) for w in WorkerFactory.create_batch(3)
    ]
    for lease in leases:
        _expire(lease)
    call_command("expire_leases")
    assert "Expired 3 lease(s)." in capsys.readouterr().out
    assert not Assignment.objects.filter(state="leased").exists()
    assert set(HIT.objects.values_list("slots_taken", flat=True)) == {0}


def test_a_schedule_runs_the_expiry_job_every_minute():
    schedule = Schedule.objects.get(func="apps.tasks.jobs.expire_leases_job")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)
