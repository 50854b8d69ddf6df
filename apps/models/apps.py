from django.apps import AppConfig


class MLModelsConfig(AppConfig):
    name = "apps.models"
    # "models" would clash with Django's own module name in lookups such as apps.get_model.
    label = "mlmodels"
    verbose_name = "ML models"
