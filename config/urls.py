from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from permits.api import api as cases_api
from permits.views import applicant as permit_views

urlpatterns = [
    path("", permit_views.home, name="home"),
    path("", include("permits.urls")),
    path("api/v1/", include("geodata.urls")),
    path("api/v1/", cases_api.urls),
    path("ogc/", include("geodata.publish.urls")),
    path("konto/logga-in/", auth_views.LoginView.as_view(), name="login"),
    path("konto/logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.LOVKARTA_OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
