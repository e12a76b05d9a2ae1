"""Reporting for the zorggroep: S3 declarations, subcontractor statements and monitoring (issue 7)."""
