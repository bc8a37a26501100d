from django.urls import path

from permits import views

app_name = "permits"
urlpatterns = [
    path("ansokan/ny/", views.application_new, name="application-new"),
    path("ansokan/<int:pk>/", views.application_detail, name="application"),
    path("handlaggare/ansokningar/", views.officer_applications, name="officer-applications"),
]
