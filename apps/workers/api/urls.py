from django.urls import path

from apps.workers.api import account, blocking, reliability, signup, views

urlpatterns = [
    path("auth/token/", views.TokenLoginView.as_view(), name="api-token"),
    path("auth/logout/", views.TokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", views.TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("me/", views.MeView.as_view(), name="api-me"),
    *account.urlpatterns,
    *reliability.urlpatterns,
    *blocking.urlpatterns,
    *signup.urlpatterns,
]
