from django.apps import AppConfig


class PermitsConfig(AppConfig):
    name = "permits"
    verbose_name = "Bygglov"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from geodata.hooks import after_sync
        from permits.exports import register_exports
        from permits.publish import register_open_cases
        from permits.services.checks import checks_after_sync

        # A sync that changes a layer the checks read re-checks the open cases.
        after_sync(checks_after_sync)
        # Decided cases as open data in geodata's OGC API (geodata never imports permits).
        register_open_cases()
        # Cases are a layer GIS staff export like the cache's.
        register_exports()
