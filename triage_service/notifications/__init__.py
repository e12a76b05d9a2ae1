"""Telling GP systems and specialists that something changed: the transactional outbox, webhook
Subscriptions and their signed delivery, and e-mail notices without patient data."""
