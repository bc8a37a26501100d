"""URLs of the OGC API - Features (mounted at ``/ogc/``)."""

from django.urls import path

from geodata.publish import views

app_name = "ogc"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("conformance", views.conformance, name="conformance"),
    path("api", views.api, name="api"),
    path("collections", views.collections, name="collections"),
    path("collections/<str:cid>", views.collection, name="collection"),
    path("collections/<str:cid>/queryables", views.queryables, name="queryables"),
    path("collections/<str:cid>/items", views.items, name="items"),
    path("collections/<str:cid>/items/<str:fid>", views.item, name="item"),
]
