"""The cache's layers as published collections: open data under Lantmäteriet's and
Boverket's field names (no owner data is held, so none can be published)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from geodata.models import Address, Building, Parcel, Plan, Regulation
from geodata.publish.registry import DATE, INTEGER, NUMBER, UUID, Collection, Field, register

OBJEKTIDENTITET = Field("objektidentitet", type=UUID)

register(Collection(
    id="parcels", order=10,
    title=_("Property parcels"),
    description=_("Areas of register units (fastighetsindelning), one feature per area."),
    queryset=Parcel.objects.all, id_field=OBJEKTIDENTITET,
    fields=(
        Field("beteckning"), OBJEKTIDENTITET, Field("registerenhetsreferens", type=UUID),
        Field("objekttyp"), Field("kommunkod"), Field("kommunnamn"), Field("trakt"),
        Field("block"), Field("enhet"), Field("omradesnummer", type=INTEGER),
        Field("etikett"), Field("senastandrad", type=DATE),
    ),
    keywords=("fastighetsindelning", "registerenhetsomradesytor")))

register(Collection(
    id="addresses", order=20, geometry_type="Point",
    title=_("Addresses"),
    description=_("Location addresses (belägenhetsadresser)."),
    queryset=Address.objects.all, id_field=OBJEKTIDENTITET,
    fields=(
        Field("adress"), OBJEKTIDENTITET, Field("kommunkod"), Field("adressomrade"),
        Field("adressplatsnummer"), Field("bokstavstillagg"), Field("postnummer"),
        Field("postort"), Field("status"), Field("registerenhetsreferens", type=UUID),
    ),
    keywords=("belägenhetsadress",)))

register(Collection(
    id="buildings", order=30,
    title=_("Buildings"),
    description=_("Building footprints (byggnader)."),
    queryset=Building.objects.all, id_field=OBJEKTIDENTITET,
    fields=(
        OBJEKTIDENTITET, Field("objektstatus"), Field("huvudandamal"),
        Field("husnummer", type=INTEGER), Field("nybyggnadsar", type=INTEGER),
        Field("registerenhetsreferens", type=UUID),
    ),
    keywords=("byggnad",)))

register(Collection(
    id="plans", order=40,
    title=_("Detailed plans"),
    description=_("Detailed plans (detaljplaner) and older plans still in force."),
    queryset=Plan.objects.all, id_field=OBJEKTIDENTITET,
    fields=(
        Field("beteckning"), OBJEKTIDENTITET, Field("kommun"), Field("namn"),
        Field("syfte"), Field("status"), Field("typ"),
        Field("datumAntagande", "datum_antagande", DATE),
        Field("datumLagakraft", "datum_lagakraft", DATE),
        Field("genomforandetid", type=INTEGER),
    ),
    keywords=("detaljplan",)))

register(Collection(
    id="regulations", order=50,
    title=_("Plan regulations"),
    description=_("Areas of plan regulations (planbestämmelser) inside the detailed plans."),
    queryset=Regulation.objects.all, id_field=OBJEKTIDENTITET,
    fields=(
        OBJEKTIDENTITET, Field("planObjektidentitet", "plan_objektidentitet", UUID),
        Field("bestammelsekod"), Field("bestammelsetyp"), Field("anvandningsform"),
        Field("kategori"), Field("underkategori"), Field("beteckning"),
        Field("bestammelseformulering"), Field("varde", type=NUMBER), Field("geometrityp"),
    ),
    keywords=("planbestämmelse",)))
