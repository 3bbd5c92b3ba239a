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
# ps and grep: a check that a process ExecSync timed out on is gone looks for it in the process list.
APPLETS = ("sh", "echo", "id", "pwd", "sleep", "cat", "env", "true", "false", "printf", "kill", "ps", "grep")
PASSWD = f"root:x:0:0:root:/root:/bin/sh\n{USER}:x:{UID}:{GID}:ocimatrix CRI probe:/home/{USER}:/bin/sh\n"
GROUP = f"root:x:0:\n{USER}:x:{GID}:\n"

# The four forms of an image config's User that critest's ImageStatus check asks about, with the
# uid and username ImageStatus must report: a number is a uid, a name is a username, and a group
# after the colon changes neither. The probe itself is the name-only form.
USER_FORMS = {
    "uid": (str(UID), UID, ""),
    "uid:gid": (f"{UID}:{GID}", UID, ""),
    "username": (USER, None, USER),
    "username:group": (f"{USER}:{USER}", None, USER),
}

# A container that runs until stopped, and says so when it gets SIGTERM.
SERVE = ["/bin/sh", "-c", "trap 'echo got TERM; exit 0' TERM; while :; do sleep 1 & wait $!; done"]


def mount_points(mountinfo: str) -> dict[str, str]:
    """A container's /proc/self/mountinfo: mount point -> its per-mount options, the last mount at a point
    winning (it hides the others)."""
    points = {}
    for line in mountinfo.splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[0].isdigit():
            points[parts[4]] = parts[5]
    return points
