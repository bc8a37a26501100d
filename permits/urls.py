from django.urls import path

from permits.views import applicant as views

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
    path("statistik/", views.statistics, name="statistics"),
    path("handlaggare/ansokningar/", views.officer_applications, name="officer-applications"),
]
