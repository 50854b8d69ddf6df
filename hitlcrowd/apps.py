from django.contrib.admin.apps import AdminConfig


class HitlcrowdAdminConfig(AdminConfig):
    """django.contrib.admin with hitlcrowd.adminsite.AdminSite as `admin.site`."""

    default_site = "hitlcrowd.adminsite.AdminSite"
