from django.apps import AppConfig


class PanelsConfig(AppConfig):
    name = "apps.panels"
    label = "panels"
    verbose_name = "Panel entry links"
