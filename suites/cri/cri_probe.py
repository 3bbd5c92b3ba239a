"""What the CRI suite's probe image says, and the spec marker of its tests.

A module of its own (not conftest) so that test modules can import the values they assert.
"""

from __future__ import annotations

# What the probe image's config says; the tests assert against these same values.
ENTRYPOINT = ["/bin/echo", "from-entrypoint"]
CMD = ["from-cmd"]
IMAGE_ENV = {"PATH": "/bin", "CRI_IMAGE_ENV": "from-image", "CRI_SHARED": "image"}
WORKDIR = "/srv/cri"
USER = "ocitest"
UID, GID = 1234, 2345
APPLETS = ("sh", "echo", "id", "pwd", "sleep", "cat", "env", "true", "false", "printf", "kill")
PASSWD = f"root:x:0:0:root:/root:/bin/sh\n{USER}:x:{UID}:{GID}:ocimatrix CRI probe:/home/{USER}:/bin/sh\n"
GROUP = f"root:x:0:\n{USER}:x:{GID}:\n"

# A container that runs until stopped, and says so when it gets SIGTERM.
SERVE = ["/bin/sh", "-c", "trap 'echo got TERM; exit 0' TERM; while :; do sleep 1 & wait $!; done"]
