from django.urls import path

from geodata import api, tiles

app_name = "geodata"
urlpatterns = [
    path("parcels/at", api.parcel_at_view, name="parcel-at"),
    path("parcels/search", api.parcel_search_view, name="parcel-search"),
    path("parcels/<uuid:objektidentitet>/neighbours", api.neighbours_view, name="neighbours"),
    path("addresses/search", api.address_search_view, name="address-search"),
    path("detail-report", api.detail_report_view, name="detail-report"),
    path("tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.pbf", tiles.tile_view, name="tile"),
    path("openapi.json", api.openapi_view, name="openapi"),
]
