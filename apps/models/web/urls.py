from django.urls import path

from apps.models.web import views

urlpatterns = [
    path(
        "projects/<int:project_id>/models/",
        views.model_dashboard,
        name="requester-project-models",
    ),
]
