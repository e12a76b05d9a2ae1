"""The FHIR resources a GP system sends (Patient, Organization, PractitionerRole, Coverage) as stored: their
checks, references, which patient each concerns, how long they are kept, and re-sealing them."""
