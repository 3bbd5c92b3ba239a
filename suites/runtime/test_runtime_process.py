"""config.md: Process. What the container's process gets, read from inside it (busybox and /proc)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.capabilities import sets_from_status
from ocimatrix.runtime.config import DEFAULT_PATH, Rlimit
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)


@spec("runtime-spec/config.md#process", "config: Process: args")
def test_args_reach_the_process_unchanged(lab):
    words = ["two words", "", "*", "$HOME", "ünïcode", "tab\there"]
    config = lab.config("")
    config.process.args = ["sh", "-c", 'for a in "$@"; do printf "<%s>\\n" "$a"; done', "sh", *words]
    ran = lab.run(config)
    assert ran.lines() == [f"<{w}>" for w in words], f"args arrived as {ran.lines()!r}"


@spec("runtime-spec/config.md#process", "config: Process: env")
def test_env_reaches_the_process(lab):
    wanted = {"OCIMATRIX_SPACES": "a b  c", "OCIMATRIX_EMPTY": "", "OCIMATRIX_EQUALS": "x=y=z", "PATH": DEFAULT_PATH}
    config = lab.config("env")
    config.process.env = [f"{k}={v}" for k, v in wanted.items()]
    ran = lab.run(config)
    seen = dict(line.partition("=")[::2] for line in ran.lines() if "=" in line)
    wrong = {k: seen.get(k) for k, v in wanted.items() if seen.get(k) != v}
    assert not wrong, f"env values differ from config.json's: {wrong}"


@spec("runtime-spec/config.md#process", "config: Process: cwd")
def test_cwd_is_the_working_directory(lab):
    config = lab.config("pwd")
    config.process.cwd = "/srv/work"
    assert lab.run(config).stdout.strip() == "/srv/work"


@spec("runtime-spec/config.md#user", "config: POSIX process: user (uid, gid, additionalGids)")
def test_user_uid_gid_and_additional_gids(lab):
    config = lab.config("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id")
    config.process.uid, config.process.gid, config.process.additional_gids = 1000, 1000, [1001, 1002]
    ran = lab.run(config)
    fields = {line.split(":")[0]: line.split(":", 1)[1].split() for line in ran.lines() if ":" in line}
    assert set(fields.get("Uid", [])) == {"1000"}, f"Uid line {fields.get('Uid')} (real, effective, saved, fs)"
    assert set(fields.get("Gid", [])) == {"1000"}, f"Gid line {fields.get('Gid')}"
    groups = set(fields.get("Groups", []))
    assert {"1001", "1002"} <= groups <= {"1000", "1001", "1002"}, f"supplementary groups {sorted(groups)}"


@spec("runtime-spec/config.md#user", "config: POSIX process: user.umask")
def test_umask(lab):
    config = lab.config("umask; touch /tmp/f; stat -c %a /tmp/f")
    config.process.umask = 0o027
    ran = lab.run(config)
    with lab.since("1.0.2", "user.umask", ignored=ran.lines()[:1] == ["0022"]):
        if ran.lines()[:2] != ["0027", "640"]:
            fail_with(
                f"umask 0027 gave {ran.lines()!r} (umask, mode of a new 0666 file)",
                step="umask and the mode of a new file in a container with user.umask 0027",
                answer=ran.seen or "no output",
            )


@spec("runtime-spec/config.md#posix-process", "config: POSIX process: rlimits")
def test_rlimits(lab):
    config = lab.config("echo soft=$(ulimit -Sn) hard=$(ulimit -Hn) core=$(ulimit -Sc)/$(ulimit -Hc)")
    config.process.rlimits = [Rlimit("RLIMIT_NOFILE", 512, 1024), Rlimit("RLIMIT_CORE", 0, 0)]
    assert lab.run(config).stdout.split() == ["soft=512", "hard=1024", "core=0/0"]


@spec("runtime-spec/config.md#linux-process", "config: Linux process: capabilities (every set, exactly)")
def test_capability_sets(lab, recorder):
    """Every set compared exactly with config.json's, as runtime-tools' runtimetest does.

    The process is uid 0, for which execve(2) makes permitted = bounding | inheritable | ambient and
    effective = permitted (capabilities(7)): config.json's sets satisfy that, so the sets the
    runtime leaves at exec are the ones the process shows, and any set in excess or missing a
    capability is the runtime's doing."""
    wanted = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"],
        "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_KILL"],
    }
    config = lab.config("grep '^Cap' /proc/self/status")
    config.process.capabilities = wanted
    ran = lab.run(config)
    seen = sets_from_status(ran.stdout)
    recorder.add("capabilities", {k: sorted(v) for k, v in seen.items()})
    # gVisor's /proc shows no CapAmb line: a set the container's /proc does not show is recorded as
    # unseen, not judged (the ambient set is then judged by its effect: the test below).
    unseen = sorted(set(wanted) - set(seen))
    if unseen:
        recorder.add("capabilities_not_shown", unseen)
    wrong = {}
    for kind, names in wanted.items():
        got = seen.get(kind)
        if got is not None and got != set(names):
            wrong[kind] = {"missing": sorted(set(names) - got), "extra": sorted(got - set(names))}
    if wrong or len(unseen) == len(wanted):
        fail_with(
            f"capability sets differ from config.json's: {wrong or 'its /proc shows none of them'}",
            step="/proc/self/status Cap* lines of the container's uid-0 process",
            answer=ran.seen or "no output",
        )


@spec("runtime-spec/config.md#linux-process", "config: Linux process: capabilities (ambient, for a non-root user)")
def test_ambient_capability_works_for_non_root(lab):
    # Seen by its effect, which every /proc shows: a uid-1000 process chowning a file to root.
    chown = ["CAP_CHOWN"]
    config = lab.config("touch /tmp/f && chown 0:0 /tmp/f && stat -c owner=%u /tmp/f")
    config.process.uid = config.process.gid = 1000
    config.process.capabilities = {k: chown for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    ran = lab.run(config)
    if ran.stdout.strip() != "owner=0":
        fail_with(
            f"a uid-1000 process with ambient CAP_CHOWN could not chown a file: {ran.stdout!r} {ran.stderr!r}",
            step="chown 0:0 of a file by a uid-1000 process with ambient CAP_CHOWN",
            answer=ran.seen or "no output",
        )


@spec("runtime-spec/config.md#linux-process", "config: Linux process: noNewPrivileges")
def test_no_new_privileges(lab):
    config = lab.config("grep -E '^NoNewPrivs:' /proc/self/status || echo no-such-line")
    config.process.no_new_privileges = True
    ran = lab.run(config)
    if ran.stdout.strip() == "no-such-line":
        pytest.skip(f"{lab.name}: the container's /proc/self/status has no NoNewPrivs line to read it from")
    assert ran.stdout.split() == ["NoNewPrivs:", "1"], f"noNewPrivileges=true, yet {ran.stdout.strip()!r}"


@spec("runtime-spec/config.md#process", "config: Process: terminal false (stdio passed through, no terminal)")
def test_io_without_terminal(lab):
    script = (
        "echo to-stdout; echo to-stderr >&2; "
        "[ -t 0 ] && echo stdin-is-a-tty; [ -t 1 ] && echo stdout-is-a-tty; "
        "read line || echo stdin-at-eof"
    )
    ran = lab.run(lab.config(script))
    assert ran.lines() == ["to-stdout", "stdin-at-eof"], f"stdout {ran.stdout!r}"
    assert ran.stderr.strip() == "to-stderr", f"stderr {ran.stderr!r}"


def oom_score_adj_seen(lab, value: int) -> str:
    """What the host shows for the container's process (the process's own reading is evidence)."""
    config = lab.config("echo inside=$(cat /proc/self/oom_score_adj); while true; do sleep 0.2; done")
    config.process.oom_score_adj = value
    container = lab.create(config)
    lab.start(container)
    lab.wait_for_output(container, "inside=")
    pid = lab.state(container)["pid"]
    # The kernel's OOM killer acts on the host's process: that is where the value must land.
    host = Path(f"/proc/{pid}/oom_score_adj").read_text().strip()
    inside = container.output().split("inside=")[1].split()[0]
    lab.recorder.add("oom_score_adj", {"host_pid": pid, "host": host, "inside": inside})
    if host != str(value):
        fail_with(
            f"oomScoreAdj {value}: the host shows {host} for the container's process (inside: {inside})",
            step=f"/proc/PID/oom_score_adj of the container's process (oomScoreAdj {value})",
            answer=f"oom_score_adj={host} (inside: {inside})",
        )
    return host


@spec("runtime-spec/config.md#linux-process", "config: Linux process: oomScoreAdj (raised)")
def test_oom_score_adj_raised(lab):
    oom_score_adj_seen(lab, 500)


@spec(
    "runtime-spec/config.md#linux-process", "config: Linux process: oomScoreAdj (lowered, which needs CAP_SYS_RESOURCE)"
)
def test_oom_score_adj_lowered(lab):
    # Without CAP_SYS_RESOURCE the kernel refuses a lowered value to the runtime too: decided here,
    # before acting; a runtime that has it and refuses or ignores it fails.
    lab.needs_host_capability("CAP_SYS_RESOURCE", "the kernel refuses a lowered oom_score_adj without it")
    oom_score_adj_seen(lab, -500)
