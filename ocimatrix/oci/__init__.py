"""The OCI data model and image validation (image-spec v1.1, Docker manifest v2 schema 2).

Modules, each with one job (their docstrings list their stable API):

- ``digest``      parse, compute and verify digests, streaming (``HashingReader``)
- ``mediatypes``  OCI and Docker media type constants and groupings
- ``reference``   ``host[:port]/repo[:tag][@digest]`` references
- ``registry``    a distribution-spec client on httpx (anonymous, Basic, Bearer token auth)
- ``schemas``     JSON Schema (draft 2020-12) checks against ``schemas/oci`` and ``schemas/docker``
- ``rules``       the catalogue of rule ids, levels and spec links; ``report`` its Violation/Report
- ``validate``    the entry points: ``validate_source``, ``validate_layout``, ``validate_archive``,
                  ``validate_registry``, ``validate_document``
- ``walker``      the index -> manifest -> config -> layer walk; ``layer`` the one-pass layer check;
                  ``stores``/``archive``/``dockersave`` where blobs come from; ``streams`` the
                  decompressors; ``elf``, ``platforms``, ``annotations``, ``jsondoc`` the small rules
"""
