"""Engine drivers, one module per tool, all behind ``ocimatrix.engines.base.Engine``.

Which tools exist, what each can do and which driver wraps it is ``ocimatrix.tools.catalog``;
``binding.bind`` imports a driver on first use and binds it to sockets and binaries.
"""
