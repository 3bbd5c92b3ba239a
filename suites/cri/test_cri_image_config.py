"""The image config and the container config together decide the process, as a Pod spec says.

``command`` replaces the image's Entrypoint, ``args`` its Cmd (a command alone drops Cmd too);
``envs`` add to the config's Env and win on a shared name; ``working_dir`` replaces WorkingDir;
run_as_user / run_as_username / run_as_group replace User, a name being resolved in the image.
"""

from __future__ import annotations

import pytest
from cri_probe import CMD, ENTRYPOINT, GID, IMAGE_ENV, UID, USER, WORKDIR

from ocimatrix.cri.client import CriError
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
REPORT = "echo uid=$(id -u) gid=$(id -g) pwd=$(pwd) image=$CRI_IMAGE_ENV shared=$CRI_SHARED extra=$CRI_EXTRA"


def _report(pod, probe, name: str = "report", **overrides) -> dict[str, str]:
    status, log = pod.run_to_exit(name, probe, command=["/bin/sh", "-c", REPORT], **overrides)
    assert status.exit_code == 0, f"the probe exited {status.exit_code}: {log.stderr.strip()[-300:]}"
    return dict(word.split("=", 1) for word in log.stdout.split())


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, [*ENTRYPOINT[1:], *CMD]),
        (None, ["from-args"], [*ENTRYPOINT[1:], "from-args"]),
        (["/bin/echo", "from-command"], None, ["from-command"]),
        (["/bin/echo", "from-command"], ["from-args"], ["from-command", "from-args"]),
    ],
    ids=["image-defaults", "args-replace-cmd", "command-drops-cmd", "command-and-args"],
)
@spec(
    "cri/api.proto", "RuntimeService/CreateContainer (ContainerConfig.command replaces Entrypoint, args replaces Cmd)"
)
def test_command_and_args(cell, pod, probe, command, args, expected):
    status, log = pod.run_to_exit("echo", probe, command=command, args=args)
    assert status.exit_code == 0, log.stderr
    assert log.stdout == " ".join(expected) + "\n", (
        f"image Entrypoint {ENTRYPOINT} Cmd {CMD} with command {command} args {args} should print "
        f"{' '.join(expected)!r}; the container printed {log.stdout!r}"
    )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (ContainerConfig.envs merged with the image config's Env)")
def test_env_merges_with_image_config(cell, pod, probe):
    report = _report(pod, probe, env={"CRI_EXTRA": "from-container", "CRI_SHARED": "container"})
    assert report.get("image") == IMAGE_ENV["CRI_IMAGE_ENV"], f"the image's Env was lost: {report}"
    assert report.get("extra") == "from-container", f"the container's env was lost: {report}"
    assert report.get("shared") == "container", (
        f"CRI_SHARED is {IMAGE_ENV['CRI_SHARED']!r} in the image and 'container' in the container config; "
        f"the container's value must win, the process saw {report.get('shared')!r}"
    )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (working_dir; the image config's WorkingDir when empty)")
def test_working_dir(cell, pod, probe):
    default = _report(pod, probe, "image-workdir")["pwd"]
    assert default == WORKDIR, f"the image's WorkingDir is {WORKDIR}, the process started in {default}"
    overridden = _report(pod, probe, "workdir-override", working_dir="/tmp")["pwd"]
    assert overridden == "/tmp", f"working_dir /tmp was asked for, the process started in {overridden}"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (no run_as_*: the image config's User, resolved in the image)")
def test_user_from_image_config(cell, pod, probe):
    report = _report(pod, probe)
    assert (report["uid"], report["gid"]) == (str(UID), str(GID)), (
        f"the image's User {USER!r} is {UID}:{GID} in its /etc/passwd; "
        f"the process ran as {report['uid']}:{report['gid']}"
    )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (LinuxContainerSecurityContext.run_as_user, run_as_group)")
def test_run_as_user_and_group(cell, pod, probe):
    report = _report(pod, probe, user="4321:4322")
    assert (report["uid"], report["gid"]) == ("4321", "4322"), (
        f"run_as_user 4321 run_as_group 4322, the process ran as {report['uid']}:{report['gid']}"
    )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (run_as_username: resolved in the image's /etc/passwd)")
def test_run_as_username(cell, pod, probe):
    report = _report(pod, probe, user=USER)
    assert report["uid"] == str(UID), f"run_as_username {USER!r} is uid {UID} in the image; got {report['uid']}"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (run_as_username absent from the image: the runtime MUST error)")
def test_run_as_unknown_username_fails(cell, cri, pod, probe):
    with pytest.raises(CriError) as caught:
        container = pod.create("nobody", probe, user="no-such-user")
        cri.start_container(container)
    assert caught.value.call in ("CreateContainer", "StartContainer"), caught.value


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer (run_as_group without a user: the runtime MUST error)")
def test_run_as_group_without_user_fails(cell, cri, pod, probe):
    config = pod.container_config("group-only", probe)
    config.linux.security_context.run_as_group.value = 4322
    with pytest.raises(CriError) as caught:
        container = pod.create_config(config)
        cri.start_container(container)
    assert caught.value.call in ("CreateContainer", "StartContainer"), caught.value
