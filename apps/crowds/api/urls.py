from apps.crowds.api import views

urlpatterns = [*views.urlpatterns]
