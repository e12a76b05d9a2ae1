"""Photos and documents: what a file really is, its metadata removed, encrypted while stored, and linked to the
consult and patient it belongs to."""
