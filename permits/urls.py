from django.urls import path

from permits.views import applicant as views
from permits.views import gis, hearings, officer, statistics

app_name = "permits"
urlpatterns = [
    path("ansokan/", views.guidance, name="guidance"),
    path("ansokan/ny/", views.application_new, name="application-new"),
    path("ansokan/<int:pk>/", views.application_detail, name="application"),
    path("ansokan/<int:pk>/redigera/", views.application_edit, name="application-edit"),
    path("ansokan/<int:pk>/kvitto.pdf", views.application_receipt, name="receipt"),
    path("ansokan/<int:pk>/bilaga/<int:attachment_id>/", views.attachment_download,
         name="attachment"),
    path("ansokan/<int:pk>/omdome/", views.feedback, name="feedback"),
    path("gis/export/", gis.export_page, name="gis-export"),
    path("gis/export/<int:pk>/", gis.export_run, name="gis-export-run"),
    path("gis/export/<int:pk>/fil", gis.export_download, name="gis-export-download"),
    path("statistik/", statistics.statistics_page, name="statistics"),
    path("statistik/statistik.json", statistics.statistics_json, name="statistics-json"),
    path("statistik/<slug:name>.csv", statistics.statistics_csv, name="statistics-csv"),
    path("ansokan/<int:pk>/beslut/<int:decision_id>.pdf", views.decision_pdf,
         name="decision-pdf"),
    path("ansokan/<int:pk>/komplettering/", views.completion_send, name="completion-send"),
    path("ansokan/<int:pk>/aterkalla/", views.application_withdraw, name="withdraw"),
    path("handlaggare/ansokningar/", views.officer_applications, name="officer-applications"),
    path("handlaggare/arenden/", officer.queue, name="officer-queue"),
    path("handlaggare/arenden/<int:pk>/", officer.case_detail, name="officer-case"),
    path("handlaggare/arenden/<int:pk>/atgard/", officer.case_move, name="officer-move"),
    path("handlaggare/arenden/<int:pk>/kontroller/", officer.case_checks,
         name="officer-checks"),
    path("handlaggare/arenden/<int:pk>/logg.csv", officer.case_audit_csv,
         name="officer-case-audit"),
    path("handlaggare/logg.csv", officer.audit_csv, name="officer-audit"),
    path("handlaggare/arenden/<int:pk>/grannar/", hearings.hearing_start_view,
         name="officer-hearing"),
    path("handlaggare/arenden/<int:pk>/grannar.csv", hearings.neighbours_csv,
         name="officer-neighbours-csv"),
    path("handlaggare/arenden/<int:pk>/grannar/<int:party_id>/svar/", hearings.reply_view,
         name="officer-hearing-reply"),
    path("handlaggare/arenden/<int:pk>/grannar/<int:party_id>/brev.pdf",
         hearings.letter_pdf, name="officer-hearing-letter"),
]
