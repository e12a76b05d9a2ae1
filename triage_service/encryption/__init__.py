"""Encryption below the models: envelope encryption of blobs under a key ring, and the encrypted column types
(with the blind index) that keep personal data sealed at rest, field by field."""
