"""Letters for the patient's record: the consult letter's content as plain data, rendered to PDF.

A technical package: it knows nothing of consults as a process or of the database. The domain
(consults/letters.py) assembles the content from a consult and stores the bytes.
"""
