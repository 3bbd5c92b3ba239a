"""An NRI (Node Resource Interface) plugin of the harness's own, for the CRI suite's NRI checks.

``nri.proto`` and ``ttrpc.proto`` are ocimatrix's own wire-compatible subsets of NRI's API and ttrpc's
envelope; ``gen/`` holds the stubs ``tools/regen-nri-stubs`` makes from them. ``mux`` splits the plugin's
socket into NRI's logical connections, ``ttrpc`` speaks the protocol on one of them, ``plugin`` is the plugin.
"""
