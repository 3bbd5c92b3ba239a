"""Kubernetes CRI (runtime.v1) client: talk to containerd or CRI-O the way the kubelet does.

``api.proto`` is ocimatrix's own wire-compatible subset of cri-api ``runtime.v1``; ``gen/`` holds
the stubs ``tools/regen-cri-stubs`` makes from it. ``client`` wraps the RPCs, ``messages`` builds
kubelet-shaped requests, ``logs`` reads (and follows) the CRI container log format,
``streaming`` speaks to the runtime's streaming server (Exec, Attach, PortForward sessions),
``containerd_config`` renders a private containerd 1.6 configuration with the CRI plugin on.
"""
