"""FHIR R4 to the letter: strict JSON parsing, the structural checker, our profiles, and the mapping between
the domain and FHIR resources."""
