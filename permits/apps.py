from django.apps import AppConfig


class PermitsConfig(AppConfig):
    name = "permits"
    verbose_name = "Bygglov"
    default_auto_field = "django.db.models.BigAutoField"
