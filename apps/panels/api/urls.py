from apps.panels.api import links

urlpatterns = [*links.urlpatterns]
