from django.apps import AppConfig


class EmapConfig(AppConfig):
    name = "emap"
    verbose_name = "eMap"
