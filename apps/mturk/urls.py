from django.urls import path

from apps.mturk import views, web

api = [
    path("mturk/access-keys/", views.AccessKeyListView.as_view(), name="mturk-access-keys"),
    path(
        "mturk/access-keys/<int:key_id>/revoke/",
        views.AccessKeyRevokeView.as_view(),
        name="mturk-access-key-revoke",
    ),
    path(
        "mturk/hit-types/<str:hit_type_id>/label-field/",
        views.HITTypeLabelFieldView.as_view(),
        name="mturk-hit-type-label-field",
    ),
]

pages = [
    path("mturk/", views.access_keys_page, name="requester-mturk"),
    path("mturk/keys/", views.access_key_create_page, name="requester-mturk-key-create"),
    path(
        "mturk/keys/<int:key_id>/revoke/",
        views.access_key_revoke_page,
        name="requester-mturk-key-revoke",
    ),
    path(
        "mturk/hit-types/<str:hit_type_id>/label-field/",
        views.label_field_page,
        name="requester-mturk-label-field",
    ),
]

# At the site's root: a question's form posts to <turkSubmitTo>/mturk/externalSubmit.
worker = [
    path("mturk/externalSubmit", web.external_submit_view, name="mturk-external-submit"),
    path("mturk/question/<str:hit_id>/", web.html_question_view, name="mturk-html-question"),
]
