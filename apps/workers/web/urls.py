from django.urls import path

from apps.workers.web import account, views

urlpatterns = [
    path("", views.projects, name="worker-projects"),
    path("projects/<int:project_id>/task/", views.task, name="worker-task"),
    path("projects/<int:project_id>/accept/", views.accept, name="worker-accept"),
    path("projects/<int:project_id>/hits/", views.mturk_hits, name="worker-mturk-hits"),
    path(
        "projects/<int:project_id>/guideline/acknowledge/",
        views.acknowledge,
        name="worker-guideline-acknowledge",
    ),
    path("assignments/<int:assignment_id>/submit/", views.submit, name="worker-submit"),
    path("assignments/<int:assignment_id>/skip/", views.skip, name="worker-skip"),
    path("history/", views.history, name="worker-history"),
    path("earnings/", views.earnings, name="worker-earnings"),
    path("account/", account.account, name="worker-account"),
    path("account/password/", account.account_password, name="worker-account-password"),
    path("account/email/", account.account_email, name="worker-account-email"),
    path("account/locale/", account.account_locale, name="worker-account-locale"),
    path(
        "account/groups/<int:group_id>/leave/",
        account.account_group_leave,
        name="worker-account-group-leave",
    ),
]
