from django.urls import path

from apps.models.api import views

P = "projects/<int:project_id>/"
urlpatterns = [
    path(f"{P}models/", views.ModelVersionListView.as_view(), name="model-versions"),
    path(f"{P}models/active", views.ModelVersionActiveView.as_view(), name="model-active"),
    path(f"{P}models/runs", views.TrainingRunListView.as_view(), name="model-runs"),
    path(f"{P}models/incumbent", views.ModelVersionIncumbentView.as_view(), name="model-incumbent"),
    path(f"{P}auto-label-preview", views.AutoLabelPreviewView.as_view(), name="auto-label-preview"),
    path(f"{P}models/retrain", views.RetrainView.as_view(), name="model-retrain"),
    path(f"{P}models/rescore", views.RescoreProgressView.as_view(), name="model-rescore"),
    path(f"{P}learning-settings", views.LearningSettingsView.as_view(), name="learning-settings"),
    path(f"{P}predict", views.PredictView.as_view(), name="project-predict"),
    path(f"{P}items/<int:item_id>/feedback", views.FeedbackView.as_view(), name="item-feedback"),
]
