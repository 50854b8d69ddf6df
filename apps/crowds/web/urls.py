from django.urls import path

from apps.crowds.web import views

# Under /requester/.
requester_urlpatterns = [
    path("groups/", views.group_list, name="requester-groups"),
    path("groups/<int:group_id>/", views.group_detail, name="requester-group"),
    path("groups/<int:group_id>/rename/", views.group_rename_page, name="requester-group-rename"),
    path("groups/<int:group_id>/delete/", views.group_delete_page, name="requester-group-delete"),
    path("groups/<int:group_id>/members/", views.member_add_page, name="requester-member-add"),
    path(
        "groups/<int:group_id>/members/<int:worker_id>/remove/",
        views.member_remove_page,
        name="requester-member-remove",
    ),
    path(
        "groups/<int:group_id>/invites/", views.invite_create_page, name="requester-invite-create"
    ),
    path(
        "groups/<int:group_id>/invites/<int:invite_id>/revoke/",
        views.invite_revoke_page,
        name="requester-invite-revoke",
    ),
]

# At the root: the link people are given, and the page it leads to.
invite_urlpatterns = [
    path("invite/", views.invite_page, name="invite"),
    path("invite/<str:token>/", views.invite_open, name="invite-open"),
]
