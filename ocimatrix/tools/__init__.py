"""The bottom floor: every fact about the tools and generations the harness knows.

``catalog``: each tool (name, roles, driver, packages per distribution, version probe, binaries in a
generation's root, daemon, declared capabilities); ``generations``: each generation (its Debian suite,
where its root comes from, its order); ``capabilities``: what a tool can be asked with
``supports()``; ``versions``: version ranges; ``platforms``: the platform tables (Debian
architecture, GOARCH, ``uname -m``, QEMU handler); ``distributions``: what provisioning installs on
each supported host distribution. Nothing here imports anything of ocimatrix but ``errors``: every
other room asks this one.
"""
