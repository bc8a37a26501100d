"""Hearings of a case: the neighbours heard (sakägare, PBL 9:25) and the bodies a case is
referred to (remisser), each with its letter, the day to reply by, reminders and the reply;
and each municipality's register of the bodies it refers cases to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from geodata.models import Municipality
from permits.models.applications import Application


class ReferralBody(models.Model):
    """A body a municipality refers cases to (the environment office, the county
    administrative board, Trafikverket, the utility ...), kept by its administrator."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE,
                                     related_name="referral_bodies")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("postal address"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["municipality", "name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"],
                                               name="one_referral_body_name")]
        verbose_name = _("referral body")
        verbose_name_plural = _("referral bodies")

    def __str__(self) -> str:
        return self.name


class HearingParty(models.Model):
    """A neighbour property heard about a case, or a body the case is referred to."""

    class Kind(models.TextChoices):
        NEIGHBOUR = "neighbour", _("neighbour")
        REFERRAL = "referral", _("referral")

    class Relation(models.TextChoices):
        TOUCHING = "touching", _("touching")
        ACROSS_ROAD = "across_road", _("across the street")
        NEARBY = "nearby", _("within the extra distance")

    class Reply(models.TextChoices):
        NONE = "", _("no reply yet")
        NO_OBJECTION = "no_objection", _("no objection")
        OBJECTION = "objection", _("objection")
        CONDITIONS = "conditions", _("no objection, with conditions")

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="hearing_parties")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # A neighbour: the property (a snapshot; the cache may change afterwards).
    designation = models.CharField(_("property designation"), max_length=250, blank=True)
    registerenhetsreferens = models.UUIDField(null=True, blank=True)
    kommunkod = models.CharField(max_length=4, blank=True)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices,
                                blank=True)
    distance_m = models.FloatField(null=True, blank=True)
    # A referral: the body from the municipality's register.
    body = models.ForeignKey(ReferralBody, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="parties")
    # Whom the letter is addressed to, and where.
    name = models.CharField(_("addressee"), max_length=300)
    address_lines = models.TextField(_("address"), blank=True)  # one line each
    email = models.EmailField(_("e-mail"), blank=True)
    letter = models.FileField(upload_to="hearings/%Y/", blank=True, max_length=300)
    letter_sha256 = models.CharField(max_length=64, blank=True)
    sent_on = models.DateField(_("sent"))
    reply_by = models.DateField(_("reply by"))
    reminded_before_on = models.DateField(_("reminded before the day"), null=True, blank=True)
    reminded_after_on = models.DateField(_("reminded after the day"), null=True, blank=True)
    reply = models.CharField(_("reply"), max_length=16, choices=Reply.choices, blank=True,
                             default=Reply.NONE)
    reply_text = models.TextField(_("what they said"), blank=True)
    received_on = models.DateField(_("reply received"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "kind", "designation", "name", "id"]
        indexes = [models.Index(fields=["reply", "reply_by"], name="hearing_due_idx")]
        verbose_name = _("hearing party")
        verbose_name_plural = _("hearing parties")

    def __str__(self) -> str:
        return f"{self.application} {self.designation or self.name}"

    @property
    def lines(self) -> list[str]:
        """The address, one line each."""
        return [line for line in self.address_lines.splitlines() if line.strip()]
