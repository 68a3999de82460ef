"""The requested-item catalogue: what each document code is called for the caseworker.

The codes are the contract's (``casesvc.schemas.ItemCode``); the portal keeps its own copy so the
domain does not depend on the case service's package (``tests/portal/test_contract_drift.py``
holds it to ``openapi/case-service.json``). ``title_de`` is the authority's word and
is shown as-is; the applicant-facing guidance per code lives in the locale files
(``item.<code>.*``), not here. ``file_stem`` names the files the caseworker receives, so it is
ASCII without spaces or underscores (the underscore separates stem, case reference and number
in :func:`portal.domain.uploads.caseworker_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ItemCode(StrEnum):
    passport = "passport"
    biometric_photo = "biometric_photo"
    health_insurance = "health_insurance"
    registration_certificate = "registration_certificate"
    rental_contract = "rental_contract"
    employment_contract = "employment_contract"
    employment_declaration = "employment_declaration"
    payslips = "payslips"
    degree_certificate = "degree_certificate"
    degree_recognition = "degree_recognition"
    language_certificate = "language_certificate"
    cv = "cv"
    enrolment_certificate = "enrolment_certificate"
    proof_of_funds = "proof_of_funds"
    declaration_of_commitment = "declaration_of_commitment"
    marriage_certificate = "marriage_certificate"
    birth_certificate = "birth_certificate"
    benefit_notice = "benefit_notice"
    integration_course = "integration_course"
    business_registration = "business_registration"
    business_plan = "business_plan"
    translation = "translation"
    other = "other"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: ItemCode
    title_de: str
    file_stem: str
    # Only the biometric photo is False: since 1 May 2025 it reaches the authority digitally from
    # a certified photographer or is taken there, so offering an upload would mislead.
    uploadable: bool = True


_ENTRIES = (
    CatalogueEntry(ItemCode.passport, "Gültiger Reisepass oder Passersatz", "Reisepass"),
    CatalogueEntry(ItemCode.biometric_photo, "Biometrisches Lichtbild", "Lichtbild", uploadable=False),
    CatalogueEntry(ItemCode.health_insurance, "Nachweis über Krankenversicherungsschutz", "Krankenversicherung"),
    CatalogueEntry(ItemCode.registration_certificate, "Meldebescheinigung", "Meldebescheinigung"),
    CatalogueEntry(ItemCode.rental_contract, "Mietvertrag oder Wohnungsgeberbestätigung", "Mietvertrag"),
    CatalogueEntry(ItemCode.employment_contract, "Arbeitsvertrag", "Arbeitsvertrag"),
    CatalogueEntry(
        ItemCode.employment_declaration,
        "Erklärung zum Beschäftigungsverhältnis",
        "Erklaerung-Beschaeftigungsverhaeltnis",
    ),
    CatalogueEntry(ItemCode.payslips, "Lohn- und Gehaltsabrechnungen der letzten drei Monate", "Gehaltsabrechnungen"),
    CatalogueEntry(ItemCode.degree_certificate, "Hochschul- oder Berufsabschluss", "Abschlusszeugnis"),
    CatalogueEntry(
        ItemCode.degree_recognition, "Anerkennung oder Zeugnisbewertung des Abschlusses", "Anerkennung-Abschluss"
    ),
    CatalogueEntry(ItemCode.language_certificate, "Nachweis über Deutschkenntnisse", "Sprachnachweis"),
    CatalogueEntry(ItemCode.cv, "Lebenslauf", "Lebenslauf"),
    CatalogueEntry(ItemCode.enrolment_certificate, "Immatrikulationsbescheinigung", "Immatrikulationsbescheinigung"),
    CatalogueEntry(ItemCode.proof_of_funds, "Sperrkonto- oder Stipendiennachweis", "Finanzierungsnachweis"),
    CatalogueEntry(ItemCode.declaration_of_commitment, "Verpflichtungserklärung", "Verpflichtungserklaerung"),
    CatalogueEntry(ItemCode.marriage_certificate, "Heiratsurkunde", "Heiratsurkunde"),
    CatalogueEntry(ItemCode.birth_certificate, "Geburtsurkunde", "Geburtsurkunde"),
    CatalogueEntry(ItemCode.benefit_notice, "Leistungs- oder Rentenbescheid", "Leistungsbescheid"),
    CatalogueEntry(ItemCode.integration_course, "Teilnahmebescheinigung Integrationskurs", "Integrationskurs"),
    CatalogueEntry(ItemCode.business_registration, "Gewerbeanmeldung oder Handelsregisterauszug", "Gewerbeanmeldung"),
    CatalogueEntry(ItemCode.business_plan, "Geschäftskonzept", "Geschaeftskonzept"),
    CatalogueEntry(ItemCode.translation, "Beglaubigte Übersetzung", "Uebersetzung"),
    CatalogueEntry(ItemCode.other, "Sonstiger Nachweis", "Nachweis"),
)

CATALOGUE: Mapping[ItemCode, CatalogueEntry] = MappingProxyType({e.code: e for e in _ENTRIES})

# Codes offered for "further documents not asked for", in catalogue order ("other" last).
EXTRA_CODES: tuple[ItemCode, ...] = tuple(e.code for e in _ENTRIES if e.uploadable)


def entry(code: str) -> CatalogueEntry:
    """The entry for ``code``; an unknown code gets the ``other`` entry.

    Falling back rather than raising keeps a reply deliverable if the case service learns a code
    before the portal does: the caseworker still gets a sensibly named "Nachweis" file.
    """
    try:
        return CATALOGUE[ItemCode(code)]
    except ValueError:
        return CATALOGUE[ItemCode.other]


_VALUES = frozenset(c.value for c in ItemCode)


def is_known(code: str) -> bool:
    return code in _VALUES


def file_stem(code: str) -> str:
    return entry(code).file_stem


def is_uploadable(code: str) -> bool:
    return entry(code).uploadable
