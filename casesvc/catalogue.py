"""German titles of the requested-item catalogue: the authority's word for each stable code."""

from __future__ import annotations

from types import MappingProxyType

from casesvc.schemas import ItemCode

TITLES_DE = MappingProxyType(
    {
        ItemCode.passport: "Gültiger Reisepass oder Passersatz",
        ItemCode.biometric_photo: "Biometrisches Lichtbild",
        ItemCode.health_insurance: "Nachweis über Krankenversicherungsschutz",
        ItemCode.registration_certificate: "Meldebescheinigung",
        ItemCode.rental_contract: "Mietvertrag oder Wohnungsgeberbestätigung",
        ItemCode.employment_contract: "Arbeitsvertrag",
        ItemCode.employment_declaration: "Erklärung zum Beschäftigungsverhältnis",
        ItemCode.payslips: "Lohn- und Gehaltsabrechnungen der letzten drei Monate",
        ItemCode.degree_certificate: "Hochschul- oder Berufsabschluss",
        ItemCode.degree_recognition: "Anerkennung oder Zeugnisbewertung des Abschlusses",
        ItemCode.language_certificate: "Nachweis über Deutschkenntnisse",
        ItemCode.cv: "Lebenslauf",
        ItemCode.enrolment_certificate: "Immatrikulationsbescheinigung",
        ItemCode.proof_of_funds: "Sperrkonto- oder Stipendiennachweis",
        ItemCode.declaration_of_commitment: "Verpflichtungserklärung",
        ItemCode.marriage_certificate: "Heiratsurkunde",
        ItemCode.birth_certificate: "Geburtsurkunde",
        ItemCode.benefit_notice: "Leistungs- oder Rentenbescheid",
        ItemCode.integration_course: "Teilnahmebescheinigung Integrationskurs",
        ItemCode.business_registration: "Gewerbeanmeldung oder Handelsregisterauszug",
        ItemCode.business_plan: "Geschäftskonzept",
        ItemCode.translation: "Beglaubigte Übersetzung",
        ItemCode.other: "Sonstiger Nachweis",
    }
)


def title_de(code: ItemCode) -> str:
    return TITLES_DE[code]
