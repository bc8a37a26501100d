from django.apps import AppConfig


class GeodataConfig(AppConfig):
    name = "geodata"
    verbose_name = "Geodata"
    default_auto_field = "django.db.models.BigAutoField"
