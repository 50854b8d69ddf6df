from django.urls import path
from knox import views as knox_views

from apps.workers.api import views

urlpatterns = [
    path("auth/token/", views.TokenLoginView.as_view(), name="api-token"),
    path("auth/logout/", knox_views.LogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", knox_views.LogoutAllView.as_view(), name="api-logout-all"),
    path("me/", views.MeView.as_view(), name="api-me"),
]
