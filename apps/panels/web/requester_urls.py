from django.urls import path

from apps.panels.web import requester

urlpatterns = [
    path(
        "projects/<int:project_id>/panel-links/",
        requester.link_create,
        name="requester-panel-link-create",
    ),
    path(
        "projects/<int:project_id>/panel-links/<int:link_id>/",
        requester.link_edit,
        name="requester-panel-link-edit",
    ),
    path(
        "projects/<int:project_id>/panel-links/<int:link_id>/revoke/",
        requester.link_revoke,
        name="requester-panel-link-revoke",
    ),
]
