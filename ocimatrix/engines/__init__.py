"""Engine drivers, one module per tool, all behind ``ocimatrix.engines.base.Engine``.

Which tools exist, what each can do and which driver wraps it is ``ocimatrix.engines.catalog``;
drivers are imported from there on first use.
"""
