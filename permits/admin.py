from django.contrib import admin

from permits.models import Application


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["case_number", "property_designation", "case_type", "status", "applicant",
                    "submitted_at"]
    list_filter = ["status", "case_type", "municipality"]
    search_fields = ["case_number", "property_designation"]
    exclude = ["location"]
