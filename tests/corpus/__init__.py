"""Deliberately broken (and some valid) images for the validator; see make_corpus.py."""
