from django.urls import path

from apps.panels.web import entry

urlpatterns = [
    path("<str:token>/", entry.enter, name="panel-enter"),
    path("<str:token>/done/", entry.done, name="panel-done"),
]
