from django.urls import path

from apps.tasks.web import views

urlpatterns = [
    path("", views.project_list, name="requester-projects"),
    path("projects/new/", views.project_new, name="requester-project-create"),
    path("projects/<int:project_id>/", views.project_detail, name="requester-project"),
    path(
        "projects/<int:project_id>/threshold/",
        views.project_threshold,
        name="requester-project-threshold",
    ),
    path(
        "projects/<int:project_id>/blocking/",
        views.project_blocking,
        name="requester-project-blocking",
    ),
    path(
        "projects/<int:project_id>/visibility/",
        views.project_visibility,
        name="requester-project-visibility",
    ),
    path("projects/<int:project_id>/upload/", views.batch_upload, name="requester-batch-upload"),
    path("batches/<int:batch_id>/", views.batch_detail, name="requester-batch"),
]
