from django.apps import AppConfig


class CrowdsConfig(AppConfig):
    name = "apps.crowds"
    label = "crowds"
    verbose_name = "Private crowds: groups and invite links"
