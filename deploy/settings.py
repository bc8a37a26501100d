"""Settings of the production stack (scripts/prod.sh): config.settings, with static files
under content-hashed names so that nginx can let browsers cache them for a year.

Everything else comes from the environment as in config.settings (LOVKARTA_PRODUCTION=1,
DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS).
"""

from config.settings import *  # noqa: F403

# collectstatic writes app.<hash>.js beside app.js and a manifest; {% static %} names the
# hashed file, so a new release never meets a year-old cached copy of an old one.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
