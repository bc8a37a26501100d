from django.urls import path

from geodata import api

app_name = "geodata"
urlpatterns = [
    path("parcels/at", api.parcel_at_view, name="parcel-at"),
]
