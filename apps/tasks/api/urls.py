from rest_framework.routers import SimpleRouter

from apps.tasks.api import batches, consensus, guidelines, items, spend, work
from apps.tasks.api.projects import ProjectViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = [
    *router.urls,
    *items.urlpatterns,
    *work.urlpatterns,
    *guidelines.urlpatterns,
    *batches.urlpatterns,
    *consensus.urlpatterns,
    *spend.urlpatterns,
]
