"""Signals: what is computed from content to recognise it (digests, PDQ, pHash, dHash) and the
indexes that search them."""
