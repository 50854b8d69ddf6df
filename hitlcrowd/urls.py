from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from apps.crowds.web.urls import invite_urlpatterns, requester_urlpatterns
from apps.mturk import urls as mturk_urls
from apps.mturk.endpoint import mturk_endpoint
from apps.workers.web import account, password, registration
from hitlcrowd import views

api_v1 = [
    path("", include("apps.workers.api.urls")),
    path("", include("apps.tasks.api.urls")),
    path("", include("apps.models.api.urls")),
    path("", include("apps.panels.api.urls")),
    path("", include(mturk_urls.api)),
    path("", include("apps.crowds.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Named so the admin's login page links to it too ("Forgotten your password?").
    path(
        "admin/password_reset/", password.PasswordResetView.as_view(), name="admin_password_reset"
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", registration.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", registration.signup, name="signup"),
    path(
        "accounts/verify-email/resend/",
        registration.verify_email_resend,
        name="verify-email-resend",
    ),
    path(
        "accounts/verify-email/<uidb64>/<token>/",
        registration.verify_email,
        name="verify-email",
    ),
    path("accounts/password-reset/", password.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        password.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/email/confirm/<str:token>/",
        account.email_change_confirm,
        name="email-change-confirm",
    ),
    path("requester/", include("apps.tasks.web.urls")),
    path("requester/", include("apps.models.web.urls")),
    path("requester/", include(mturk_urls.pages)),
    path("requester/", include(requester_urlpatterns)),
    *invite_urlpatterns,
    path("work/", include("apps.workers.web.urls")),
    path("requester/", include("apps.panels.web.requester_urls")),
    path("enter/", include("apps.panels.web.entry_urls")),
    # boto3's endpoint_url: ".../mturk/" posts to /mturk/, ".../mturk" to /mturk (no redirect:
    # a POST cannot follow one).
    *mturk_urls.worker,
    path("mturk/", mturk_endpoint, name="mturk-endpoint"),
    path("mturk", mturk_endpoint),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", views.api_docs, name="api-docs"),
]

# 503 with Retry-After when the database cannot be reached; the API's error shape on /api/.
handler500 = "hitlcrowd.views.server_error"
# A URL nothing matches under /api/ (projects/abc/): 404 in the API's error shape.
handler404 = "hitlcrowd.views.not_found"
