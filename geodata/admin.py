from django.contrib.gis import admin
from django.db import models

from geodata.models import Municipality, Parcel, Source, SyncRun


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ["name", "kommunkod"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "protocol", "holds", "municipality", "url", "layer", "enabled"]
    list_filter = ["protocol", "holds", "municipality"]
    # What the last good sync read from the service, and the circuit breaker's state.
    readonly_fields = ["service_info", "consecutive_failures", "circuit_open_until"]
    # A URL typed without a scheme is taken as https (Django 6's default, asked for now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["source", "started_at", "outcome", "fetched", "server_said", "added",
                    "changed", "removed", "rejected"]
    list_filter = ["outcome", "source"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(Parcel)
class ParcelAdmin(admin.ModelAdmin):
    # No map widget: Django's GIS widgets load OpenLayers from a CDN.
    exclude = ["geom"]
    list_display = ["beteckning", "omradesnummer", "kommunkod", "objekttyp"]
    search_fields = ["beteckning", "objektidentitet"]
    list_filter = ["kommunkod", "objekttyp"]
