"""The runtime suite's verdicts: its known incompatibilities are confirmed only by the runtime's own
answer, and a runtime that refuses ``create`` is ``failed`` with its words, leaving nothing behind.

The first half replays answers the runtimes gave on this project's Debian 12 host (runc 1.1.5,
crun 1.8.1, runsc 20221219) and in its trixie root (runc 1.1.15, crun 1.21, runsc 20240729) against
the expectations of ``matrix/default.yaml``, through the one
decision table (``ocimatrix.plugin.verdicts.decide``): the recorded answer is ``xfailed``, and a different
failure of the same test (an empty hook log, another mount option missing, a refusal at another
step, a leftover of another container) is not. The second half runs the suite on the real runc,
through a wrapper script standing in for it that refuses every ``create``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ocimatrix.errors import ImplementationFailure, UsageError
from ocimatrix.matrix import load_matrix, value_matches, versions_match
from ocimatrix.plugin.expectations import names_the_test
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import MATRIX_DIR
from ocimatrix.runtime.cli import BINARIES_ENV, binaries_from_env, runtime_binary, version_number
from ocimatrix.system.process import mounts_under, processes_mentioning

DEFAULT = MATRIX_DIR / "default.yaml"

SECCOMP_AFTER = (
    "mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13, after one without errnoRet "
    "in the same --root"
)

# (test, runtime) -> the (step, answer) the runtime gave when the listed incompatibility showed.
RECORDED: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("test_classic_hooks_run_in_lifecycle_order", "runc"): [("runc create", "prestart, poststart")],
    ("test_all_hook_kinds_run_in_lifecycle_order", "runc"): [
        ("runc create", "prestart, createRuntime, createContainer, poststart")
    ],
    ("test_all_hook_kinds_run_in_lifecycle_order", "crun"): [
        ("crun start", "prestart, createRuntime, createContainer, poststart, startContainer, program")
    ],
    ("test_tmpfs_mount_with_options", "runc"): [("stat -c %a /mnt/tmpfs in the container", "mode=755")],
    ("test_tmpfs_mount_with_options", "runsc"): [
        ("/proc/self/mounts entry of /mnt/tmpfs", "none /mnt/tmpfs tmpfs rw,noexec,size=1m,mode=0700 0 0")
    ],
    ("test_masked_paths_cannot_be_read", "runsc"): [
        ("read the masked /etc/secret and list the masked /srv/secret", "file=s3cret dir=key")
    ],
    ("test_readonly_paths_refuse_writes", "runsc"): [("write to /mnt/tmpfs, listed in readonlyPaths", "writable")],
    ("test_sysctl_is_applied", "runsc"): [
        (
            "read /proc/sys/net/ipv4/ip_forward in the container (sysctl net.ipv4.ip_forward=1)",
            "net.ipv4.ip_forward=0",
        )
    ],
    ("test_namespaces_joined_by_path", "runsc"): [
        ("hostname in a container joining the owner's uts namespace by path", "hostname=? uts= ipc="),
        # runsc 20240729: the sandbox's own namespace links
        ("hostname in a container joining the owner's uts namespace by path", "hostname=? uts=uts:[3] ipc=ipc:[2]"),
    ],
    ("test_create_with_duplicate_id_is_refused", "runsc"): [
        (
            "runsc state of the first container after the refused duplicate create",
            "exit 128: loading container: file does not exist",
        ),
        (
            "runsc delete --force (teardown) of the first container",
            "processes survived delete --force (killed by the harness): ['9788 runsc-gofer --root=/var/tmp/"
            "ocimatrix-runtime-9grl71na/state-runsc --network=none gofer --bundle /var/tmp/ocimatrix-runtime-"
            "9grl71na/bundles/om-create-with-dupl', '9796 runsc-sandbox --root=/var/tmp/ocimatrix-runtime-"
            "9grl71na/state-runsc --network=none boot --proc-mount-sync-fd=18 --bundle=/var/tmp/ocimatrix-runt']",
        ),
    ],
    ("test_kill_of_created_container", "runsc"): [
        (
            "runsc kill KILL of a created container",
            'exit 128: cannot signal container "om-kill-of-created-containe-baac1c-0" in state created',
        )
    ],
    ("test_listed_device_is_created", "runsc"): [
        (
            "stat and read /dev/om-zero in the container",
            "stderr: stat: can't stat '/dev/om-zero': No such file or directory",
        )
    ],
    ("test_seccomp_denies_a_syscall", "runsc"): [
        ("mkdir under a seccomp profile that denies mkdir/mkdirat", "mkdir=ok")
    ],
    ("test_seccomp_errno_ret", "runsc"): [
        ("mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13", "mkdir=ok")
    ],
    ("test_invalid_oci_version_is_an_error", "runc"): [
        (
            'runc create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_invalid_oci_version_is_an_error", "runsc"): [
        (
            'runsc create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_unknown_capability_is_an_error", "runc"): [
        (
            "runc create and start of a config.json with the capability CAP_OCIMATRIX",
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_unknown_capability_is_an_error", "crun"): [
        (
            "crun create and start of a config.json with the capability CAP_OCIMATRIX",
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_unlisted_namespaces_are_the_runtimes", "runsc"): [
        (
            "/proc/self/ns links of a container whose config.json lists no ipc, uts, network, cgroup namespace",
            "ipc= uts= net=net:[251] cgroup=; the runtime's: ipc=ipc:[4026531839] uts=uts:[4026531838] "
            "net=net:[4026531833] cgroup=cgroup:[4026531835]",
        ),
        (
            "/proc/self/ns links of a container whose config.json lists no ipc, uts, network, cgroup namespace",
            "ipc=ipc:[2] uts=uts:[3] net=net:[1] cgroup=; the runtime's: ipc=ipc:[4026531839] uts=uts:[4026531838] "
            "net=net:[4026531833] cgroup=cgroup:[4026531835]",
        ),
    ],
    ("test_namespace_path_of_another_type_is_an_error", "runsc"): [
        (
            'runsc create and start of a config.json with namespace type "ipc" with the path of a uts namespace '
            "(/proc/18283/ns/uts)",
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    # Trixie's runtimes (runc 1.1.15, crun 1.21, runsc 20240729), run in their root.
    ("test_invalid_oci_version_is_an_error", "crun"): [
        (
            'crun create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_domainname", "runc"): [
        ("cat /proc/sys/kernel/domainname in a container with domainname om.example", "(none)")
    ],
    ("test_domainname", "runsc"): [
        (
            "cat /proc/sys/kernel/domainname in a container with domainname om.example",
            "stderr: cat: can't open '/proc/sys/kernel/domainname': No such file or directory",
        )
    ],
    ("test_all_hook_kinds_run_in_lifecycle_order", "runsc"): [("runsc create", "prestart, createRuntime")],
    ("test_ambient_capability_works_for_non_root", "runsc"): [
        (
            "chown 0:0 of a file by a uid-1000 process with ambient CAP_CHOWN",
            "stderr: chown: /tmp/f: Operation not permitted",
        )
    ],
    ("test_umask", "runsc"): [("umask and the mode of a new file in a container with user.umask 0027", "0022\n644")],
    ("test_seccomp_errno_ret_after_the_same_rule_without_it", "crun"): [
        (
            SECCOMP_AFTER,
            "mkdir: can't create directory '/tmp/probe-dir': Operation not permitted\nmkdir=denied",
        )
    ],
    # sid's runc 1.3.6 (listed in matrix/nightly.yaml only: the nightly runs sid).
    ("test_failing_poststop_hook_is_only_a_warning", "runc=1.3.6"): [
        (
            "runc delete with a failing poststop hook",
            'exit 1: time="2026-12-07T21:33:31Z" level=error msg="unable to destroy container: error running '
            'poststop hook #0: exit status 3"',
        )
    ],
    # crun 1.21 (trixie) and 1.28 (sid): features read against the release their ociVersionMax names.
    ("test_features_document", "crun"): [
        (
            "crun features",
            "ociVersionMax 1.1.0+dev; properties of a later release: /linux/mountExtensions, "
            "/potentiallyUnsafeConfigAnnotations",
        ),
        (
            "crun features",
            "ociVersionMax 1.1.0+dev; properties of a later release: /linux/memoryPolicy, /linux/mountExtensions, "
            "/linux/netDevices, /potentiallyUnsafeConfigAnnotations",
        ),
    ],
    # Every operation in every state, hooks (issue 22 item 3), and runtime-tools' masked paths and namespace paths.
    **{
        ("test_delete_of_created_container_is_refused", r): [
            (f"{r} delete of a created container", "exit 0: exit 0, no output")
        ]
        for r in ("runc", "crun", "runsc")
    },
    ("test_operations_on_a_creating_container", "runc"): [
        (
            "runc create, after the refused operations",
            'exit 1: time="2026-12-07T23:11:22Z" level=error msg="runc create failed: unable to start container '
            'process: error during container init: unable to store init state: %!w(<nil>)"',
        ),
        (
            "runc create, after the refused operations",
            'exit 1: time="2026-12-07T23:14:40Z" level=error msg="runc create failed: unable to start container '
            "process: error during container init: unable to store init state: open /var/tmp/ocimatrix-5l6jqslp/"
            'ocimatrix-runtime-xa03a0ws/state-runc@sid/om-operations-on-a-creating-0/state.json: no such file"',
        ),
    ],
    ("test_operations_on_a_creating_container", "crun"): [("crun delete of a creating container", "exit 0: ")],
    ("test_operations_on_a_creating_container", "runsc"): [
        (
            "runsc state of a creating container",
            'exit 0: {\n  "ociVersion": "1.2.0",\n  "id": "om-operations-on-a-creating-d9cfe4-0",\n  '
            '"status": "created",\n  "pid": 4715,\n  "bundle": "/var/tmp/b/om-operations-on-a-creating-d9cfe4-0"\n}',
        ),
        ("runsc state of a creating container", "no exit status within 5s"),
    ],
    ("test_hooks_get_the_state_on_stdin", "runc"): [
        (
            "the state on each hook's stdin",
            "createContainer: pid 1 (state said 25035); startContainer: pid 1 (state said 25035); "
            "poststart: status 'created'",
        )
    ],
    ("test_hooks_get_the_state_on_stdin", "crun"): [
        (
            "the state on each hook's stdin",
            "createContainer: pid 0 (state said 25265); startContainer: bundle '/', pid 0 (state said 25265), "
            "status 'starting'",
        )
    ],
    ("test_hooks_get_the_state_on_stdin", "runsc"): [("the state on each hook's stdin", "poststart: status 'created'")],
    **{
        ("test_failing_start_container_hook_stops_the_container", r): [
            (
                f"{r} create and start with two startContainer hooks, the first failing",
                "create exit 0: exit 0, no output; start exit 0: exit 0, no output; hooks: startContainer#1",
            )
        ]
        for r in ("runc", "crun")
    },
    ("test_failing_start_container_hook_stops_the_container", "runsc"): [
        ("runsc create and start with two startContainer hooks, the first failing", "(empty: no hook ran)")
    ],
    ("test_failing_create_container_hook_stops_the_container", "runsc"): [
        ("runsc create and start with two createContainer hooks, the first failing", "(empty: no hook ran)")
    ],
    **{
        ("test_relative_masked_path_is_an_error", r): [
            (
                f'{r} create and start of a config.json with maskedPaths ["masked-relpath"]',
                "create exit 0, start exit 0, stopped; stdout: ran",
            )
        ]
        for r in ("runc", "crun", "runsc")
    },
    ("test_masked_paths_nested_and_device_nodes", "runsc"): [
        (
            "read, list and stat the masked paths under /mnt/masks",
            "masked-file=secrets masked-dir/masked-file=secrets masked-dir/masked-subdir/masked-file=secrets "
            "masked-dir=masked-file masked-subdir masked-dir/masked-subdir=masked-file tmp masked-block= "
            "masked-char=character special file 0,0 masked-fifo=",
        )
    ],
    ("test_masked_symlink_loop_is_an_error", "runsc"): [
        (
            "runsc create and start of a config.json with a masked path that is a symlink to itself",
            "create exit 0, start exit 0, stopped; stdout: ran",
        )
    ],
    ("test_every_namespace_type_joined_by_path", "runsc"): [
        (
            "/proc/self/ns links of a container joining ipc, uts, net, pid, mnt, cgroup by path",
            "ipc= uts= net=net:[251] pid=pid:[299] mnt= cgroup=",
        ),
        (
            "/proc/self/ns links of a container joining ipc, uts, net, pid, mnt, cgroup by path",
            "ipc=ipc:[2] uts=uts:[3] net=net:[1] pid=pid:[1] mnt=mnt:[4] cgroup=",
        ),
    ],
    ("test_failing_poststop_hook_is_only_a_warning", "runc=1.1.15+ds1"): [
        ("runc delete with two poststop hooks, the first failing", "hooks: poststop#1")
    ],
    # The version dimension: crun 1.8.1 refusing the releases newer than it knows.
    **{
        (f"test_runs_config_declared_as_{r.replace('.', '_')}", "crun"): [
            (f"crun create of a config.json declared as runtime-spec {r}", "exit 1: unknown version specified")
        ]
        for r in ("1.2.0", "1.2.1", "1.3.0")
    },
    # The crossing: trixie's docker's own config.json (ociVersion 1.2.0), refused by crun 1.8.1.
    ("test_runtime_runs_engine_config[config-of-docker@trixie-crun]", "crun"): [
        ("crun create of the config.json docker@trixie wrote (ociVersion 1.2.0)", "exit 1: unknown version specified")
    ],
}

REFUSED_CREATE = 'exit 1: time="..." level=error msg="runc create failed: unable to start container process"'

# Different failures of the same tests: each must be `failed`, never taken for the listed finding.
DIFFERENT: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("test_classic_hooks_run_in_lifecycle_order", "runc"): [
        ("runc create", "(empty: no hook ran)"),  # a runtime that runs no hooks at all
        ("runc create", "poststart"),  # poststart at create, but no prestart
        ("runc start", "prestart, poststart"),  # the same log, judged after start: not the create finding
        ("runc create", REFUSED_CREATE),
    ],
    ("test_all_hook_kinds_run_in_lifecycle_order", "runc"): [
        ("runc create", "(empty: no hook ran)"),
        ("runc create", "prestart, poststart, createRuntime, createContainer"),
        ("runc start", "prestart, createRuntime, createContainer, startContainer, program"),
    ],
    ("test_all_hook_kinds_run_in_lifecycle_order", "crun"): [
        ("crun start", "(empty: no hook ran)"),
        ("crun start", "prestart, createRuntime, createContainer, startContainer, program"),  # no poststart
        ("crun create", "prestart, createRuntime, createContainer, poststart"),
        ("crun start", "exit 1: crun: error executing hook"),
    ],
    ("test_tmpfs_mount_with_options", "runc"): [
        (
            "/proc/self/mounts entry of /mnt/tmpfs",
            "tmpfs /mnt/tmpfs tmpfs rw,nosuid,nodev,relatime,size=1024k,mode=700 0 0",
        ),
        ("stat -c %a /mnt/tmpfs in the container", "mode=777"),
        ("runc create", REFUSED_CREATE),
    ],
    ("test_tmpfs_mount_with_options", "runsc"): [
        # noexec missing instead; nosuid alone missing; the mode wrong besides; no entry at all
        ("/proc/self/mounts entry of /mnt/tmpfs", "none /mnt/tmpfs tmpfs rw,nosuid,nodev,size=1m,mode=0700 0 0"),
        ("/proc/self/mounts entry of /mnt/tmpfs", "none /mnt/tmpfs tmpfs rw,nodev,noexec,size=1m,mode=0700 0 0"),
        ("/proc/self/mounts entry of /mnt/tmpfs", "none /mnt/tmpfs tmpfs rw,noexec,size=1m,mode=0755 0 0"),
        ("/proc/self/mounts entry of /mnt/tmpfs", "no entry; /proc/self/mounts: none / 9p ro 0 0"),
        ("stat -c %a /mnt/tmpfs in the container", "mode=755"),
    ],
    ("test_masked_paths_cannot_be_read", "runsc"): [
        ("read the masked /etc/secret and list the masked /srv/secret", "file= dir=key"),
        ("read the masked /etc/secret and list the masked /srv/secret", "file=s3cret dir="),
        ("read /etc/secret and list /srv/secret, unmasked", "file= dir="),
    ],
    ("test_readonly_paths_refuse_writes", "runsc"): [
        ("write to /mnt/tmpfs, not listed", "refused"),
        ("write to /mnt/tmpfs, listed in readonlyPaths", "no output"),
        ("runsc create", "exit 128: creating container: readonly path"),
    ],
    ("test_sysctl_is_applied", "runsc"): [
        ("runsc create", "exit 128: sysctl net.ipv4.ip_forward not allowed"),  # refused: no longer skipped
        ("read /proc/sys/net/ipv4/ip_forward in the container (sysctl net.ipv4.ip_forward=1)", "net.ipv4.ip_forward="),
    ],
    ("test_namespaces_joined_by_path", "runsc"): [
        ("runsc create", "exit 128: joining namespace /proc/1/ns/uts: invalid argument"),
        ("runsc start", "exit 128: starting the owner container"),
        ("hostname in a container joining the owner's uts namespace by path", "hostname= uts=uts:[1] ipc=ipc:[2]"),
    ],
    ("test_create_with_duplicate_id_is_refused", "runsc"): [
        # a leftover of another of the test's containers, or of another kind
        (
            "runsc delete --force (teardown) of the owner container",
            "processes survived delete --force (killed by the harness): ['1 runsc-sandbox']",
        ),
        ("runsc delete --force (teardown) of the first container", "state still answers after delete --force: {}"),
        ("runsc create with the id of the first container", "exit 0: "),  # the duplicate accepted
        ("runsc state of the first container after the refused duplicate create", 'exit 0: {"status": "running"}'),
    ],
    ("test_kill_of_created_container", "runsc"): [
        ("runsc kill KILL of a created container", 'exit 128: container "om-x-0" does not exist'),
        ("runsc state, until stopped", "status 'created' after 10s"),
        ("runsc create", "exit 128: cannot signal container"),
    ],
    ("test_listed_device_is_created", "runsc"): [
        ("stat and read /dev/om-zero in the container", "character special file 1:5 666 0:0\n00 00 00 00"),
        ("stat and read /dev/om-zero in the container", "stderr: head: /dev/om-zero: Permission denied"),
        ("runsc create", "exit 128: can't stat '/dev/om-zero': No such file or directory"),
    ],
    ("test_seccomp_denies_a_syscall", "runsc"): [
        ("mkdir without a seccomp profile", "mkdir=ok"),
        ("mkdir under a seccomp profile that denies mkdir/mkdirat", "mkdir=denied"),
        ("runsc create", "exit 128: seccomp: mkdir=ok"),
    ],
    ("test_seccomp_errno_ret", "runsc"): [
        (
            "mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13",
            "mkdir: can't create directory '/tmp/probe-dir': Operation not permitted\nmkdir=denied",
        ),
        ("runsc start", "exit 128: mkdir=ok"),
    ],
    ("test_invalid_oci_version_is_an_error", "runc"): [
        (
            'runc create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ",
        ),
        (
            "runc create and start of a config.json with the capability CAP_OCIMATRIX",
            "create exit 0, start exit 0, stopped; stdout: ran",
        ),
        ("runc state, until stopped", "status 'running' after 20s"),
    ],
    ("test_invalid_oci_version_is_an_error", "runsc"): [
        (
            'runsc create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, running; stdout: ran",
        ),
        ("runsc create", "exit 0: create exit 0, start exit 0, stopped; stdout: ran"),
    ],
    ("test_unknown_capability_is_an_error", "runc"): [
        (
            'runc create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ran",
        ),
        (
            "runc create and start of a config.json with the capability CAP_OCIMATRIX",
            "create exit 0, start exit 0, stopped; stdout: ",
        ),
    ],
    ("test_unknown_capability_is_an_error", "crun"): [
        ("crun state, until stopped", "status 'running' after 20s"),
        (
            "crun create and start of a config.json with the capability CAP_OCIMATRIX",
            "create exit 0, start exit 0, stopped; stdout: x",
        ),
    ],
    ("test_unlisted_namespaces_are_the_runtimes", "runsc"): [
        # only the network namespace its own; nothing printed at all
        (
            "/proc/self/ns links of a container whose config.json lists no ipc, uts, network, cgroup namespace",
            "ipc=ipc:[4026531839] uts=uts:[4026531838] net=net:[251] cgroup=cgroup:[4026531835]; the runtime's: "
            "ipc=ipc:[4026531839] uts=uts:[4026531838] net=net:[4026531833] cgroup=cgroup:[4026531835]",
        ),
        ("the container's probe", "no output"),
    ],
    ("test_invalid_oci_version_is_an_error", "crun"): [
        (
            'crun create and start of a config.json with ociVersion "invalid"',
            "create exit 0, start exit 0, stopped; stdout: ",
        ),
        ("crun create", "exit 1: unknown version specified"),
    ],
    ("test_domainname", "runc"): [
        ("cat /proc/sys/kernel/domainname in a container with domainname om.example", "om.exampl"),
        ("cat /proc/sys/kernel/domainname in a container with domainname om.example", "no output"),
        ("runc create", "exit 1: (none)"),
    ],
    ("test_domainname", "runsc"): [
        ("cat /proc/sys/kernel/domainname in a container with domainname om.example", "(none)"),
        ("runsc create", "exit 128: cat: can't open '/proc/sys/kernel/domainname': No such file or directory"),
    ],
    ("test_all_hook_kinds_run_in_lifecycle_order", "runsc"): [
        ("runsc create", "(empty: no hook ran)"),
        ("runsc create", "prestart"),
        ("runsc start", "prestart, createRuntime"),
    ],
    ("test_ambient_capability_works_for_non_root", "runsc"): [
        ("chown 0:0 of a file by a uid-1000 process with ambient CAP_CHOWN", "owner=1000"),
        ("runsc create", "exit 128: chown: /tmp/f: Operation not permitted"),
    ],
    ("test_seccomp_errno_ret_after_the_same_rule_without_it", "crun"): [
        (SECCOMP_AFTER, "mkdir: can't create directory '/tmp/probe-dir': Permission denied\nmkdir=denied"),
        (SECCOMP_AFTER, "mkdir=ok"),
        ("mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13", "mkdir=denied"),
    ],
    ("test_failing_poststop_hook_is_only_a_warning", "runc=1.3.6"): [
        ("runc delete with a failing poststop hook", "exit 1: container not stopped"),
        ("runc delete", 'exit 1: level=error msg="unable to destroy container: error running poststop hook #0'),
    ],
    ("test_umask", "runsc"): [
        ("umask and the mode of a new file in a container with user.umask 0027", "0027\n644"),
        ("umask and the mode of a new file in a container with user.umask 0027", "0022"),
    ],
    **{
        (f"test_runs_config_declared_as_{r.replace('.', '_')}", "crun"): [
            (f"crun start of a config.json declared as runtime-spec {r}", "exit 1: unknown version specified"),
            (f"crun create of a config.json declared as runtime-spec {r}", "exit 1: error loading config.json"),
            ("crun create of a config.json declared as runtime-spec 1.0.2", "exit 1: unknown version specified"),
        ]
        for r in ("1.2.0", "1.2.1", "1.3.0")
    },
    ("test_runtime_runs_engine_config[config-of-docker@trixie-crun]", "crun"): [
        # refused at start, for another reason, or another engine's config: not this finding
        ("crun start of the config.json docker@trixie wrote (ociVersion 1.2.0)", "exit 1: unknown version specified"),
        ("crun create of the config.json docker@trixie wrote (ociVersion 1.2.0)", "exit 1: error loading config.json"),
        ("crun create of the config.json docker wrote (ociVersion 1.2.0)", "exit 1: unknown version specified"),
    ],
    ("test_features_document", "crun"): [
        # a document declaring its real release, or one also wrong in another way, is not this finding
        ("crun features", "ociVersionMax 1.3.0; properties of a later release: /linux/future"),
        ("crun features", "ociVersionMax 1.1.0+dev; properties of a later release: /linux/x; /linux/cgroup/v1: 'yes'"),
        ("crun features", "exit 0: not json"),
        ("crun create", "ociVersionMax 1.1.0+dev; properties of a later release: /linux/mountExtensions"),
    ],
    **{
        ("test_delete_of_created_container_is_refused", r): [
            (f"{r} delete of a created container", "exit 1: container is not stopped"),  # the right answer
            (f"{r} state of a created container after its refused delete", "exit 0: deleted anyway"),
            (f"{r} create", "exit 0: exit 0, no output"),
        ]
        for r in ("runc", "crun", "runsc")
    },
    ("test_operations_on_a_creating_container", "runc"): [
        ("runc delete of a creating container", "exit 0: "),
        ("runc create, after the refused operations", "exit 1: some other failure"),
        ("runc create with a createRuntime hook", "no exit status and no hook within 15s"),
    ],
    ("test_operations_on_a_creating_container", "crun"): [
        ("crun delete of a creating container", "exit 1: container not stopped"),
        ("crun start of a creating container", "exit 0: "),
        ("crun create, after the refused operations", "exit 1: unable to store init state"),
    ],
    ("test_operations_on_a_creating_container", "runsc"): [
        ("runsc state of a creating container", 'exit 0: {"status": "running"}'),
        ("runsc start of a creating container", "no exit status within 5s"),
        ("runsc state of a creating container", "no exit status within 30s"),
        ("runsc delete of a creating container", "exit 0: "),
    ],
    ("test_hooks_get_the_state_on_stdin", "runc"): [
        (
            "the state on each hook's stdin",
            "createContainer: pid 1 (state said 25035); startContainer: pid 1 (state said 25035)",
        ),
        ("the state on each hook's stdin", "prestart: annotations None"),
        (
            "runc create",
            "createContainer: pid 1 (state said 25035); startContainer: pid 1 (state said 25035); "
            "poststart: status 'created'",
        ),
    ],
    ("test_hooks_get_the_state_on_stdin", "crun"): [
        ("the state on each hook's stdin", "createContainer: pid 0 (state said 25265)"),
        ("the state on each hook's stdin", "prestart: id 'other'"),
    ],
    ("test_hooks_get_the_state_on_stdin", "runsc"): [
        ("the state on each hook's stdin", "poststart: status 'stopped'"),
        ("the state on each hook's stdin", "prestart: pid 3 (state said 4); poststart: status 'created'"),
    ],
    **{
        ("test_failing_start_container_hook_stops_the_container", r): [
            (
                f"{r} create and start with two startContainer hooks, the first failing",
                "hooks: startContainer#1, startContainer#2",
            ),
            (f"{r} create and start with two startContainer hooks, the first failing", "stdout 'program-ran'"),
            (f"{r} create and start with two startContainer hooks, the first failing", "(empty: no hook ran)"),
        ]
        for r in ("runc", "crun")
    },
    ("test_failing_start_container_hook_stops_the_container", "runsc"): [
        (
            "runsc create and start with two startContainer hooks, the first failing",
            "hooks: startContainer#1, startContainer#2",
        ),
        ("runsc create", "(empty: no hook ran)"),
    ],
    ("test_failing_create_container_hook_stops_the_container", "runsc"): [
        ("runsc create and start with two createContainer hooks, the first failing", "stdout 'program-ran'"),
        ("runsc create", "(empty: no hook ran)"),
    ],
    **{
        ("test_relative_masked_path_is_an_error", r): [
            (
                f'{r} create and start of a config.json with maskedPaths ["masked-relpath"]',
                "create exit 0, start exit 0, stopped; stdout: ",
            ),
            (f"{r} state, until stopped", "status 'running' after 20s"),
        ]
        for r in ("runc", "crun", "runsc")
    },
    ("test_masked_paths_nested_and_device_nodes", "runsc"): [
        ("read, list and stat the masked paths under /mnt/masks", "masked-file= masked-block=block special file 7,c8"),
        ("the container's probe", "no output"),
    ],
    ("test_masked_symlink_loop_is_an_error", "runsc"): [
        (
            "runsc create and start of a config.json with a masked path that is a symlink to itself",
            "create exit 0, start exit 0, stopped; stdout: ",
        ),
    ],
    ("test_every_namespace_type_joined_by_path", "runsc"): [
        (
            "/proc/self/ns links of a container joining ipc, uts, net, pid, mnt, cgroup by path",
            "ipc=joined uts=joined net=joined pid=joined mnt=joined cgroup=cgroup:[5]",
        ),
        ("the container's probe", "no output"),
    ],
    ("test_failing_poststop_hook_is_only_a_warning", "runc=1.1.5+ds1"): [
        ("runc delete with a failing poststop hook", "exit 1: container not stopped"),
        ("runc delete", 'exit 1: level=error msg="unable to destroy container: error running poststop hook #0'),
        ("runc delete with two poststop hooks, the first failing", "hooks: poststop#1, poststop#2"),
        ("runc delete with two poststop hooks, the first failing", "hooks: poststop#2"),
    ],
    ("test_namespace_path_of_another_type_is_an_error", "runsc"): [
        ("runsc start", "exit 128: starting the owner container"),
        ("runsc state", "exit 128: loading container: file does not exist"),
        (
            'runsc create and start of a config.json with namespace type "ipc" with the path of a uts namespace '
            "(/proc/1/ns/uts)",
            "create exit 0, start exit 0, stopped; stdout: ",
        ),
    ],
}


@functools.cache
def expectations(path: Path) -> tuple[dict, ...]:
    return load_matrix(path).expectations


def runtime_expectations(path: Path) -> list[dict]:
    """The expectations of the runtime suite's cells (keyed on the runtime axis alone)."""
    return [e for e in expectations(path) if set(e["cell"]) == {"runtime"}]


def expectation_for(path: Path, test: str, runtime: str) -> dict | None:
    """The expectation the plugin would apply to the cell: the first whose test and cell fit. For the
    default matrix, a finding only the nightly lists (on sid's runtimes) is looked up there."""
    found = _expectation_in(path, test, runtime)
    if found is None and path == DEFAULT:
        found = _expectation_in(MATRIX_DIR / "nightly.yaml", test, runtime)
    return found


def _expectation_in(path: Path, test: str, runtime: str) -> dict | None:
    """``runtime`` is a tool (``runc``), or a tool and its version (``runc=1.1.15+ds1``) where listings of one
    test tell versions apart: then, as the plugin does, the first whose ``versions`` fit."""
    tool, _, version = runtime.partition("=")
    for expected in expectations(path):
        if _names(test, expected["test"]) and all(
            value_matches({"runtime": tool}.get(axis), values) for axis, values in expected["cell"].items()
        ):
            if version and expected.get("versions") and not versions_match(expected["versions"], {tool: version}):
                continue
            return expected
    return None


def _names(test: str, pattern: str) -> bool:
    """Whether an expectation's ``test`` names ``test`` (a function, or ``function[id]``), as the plugin reads it."""
    return names_the_test(test.partition("[")[0], test, pattern)


def failure(step: str, answer: str) -> ImplementationFailure:
    return ImplementationFailure(f"the harness's message naming {answer[:40]}", step=step, answer=answer)


@pytest.mark.parametrize("path", [DEFAULT, MATRIX_DIR / "nightly.yaml"], ids=lambda p: p.name)
def test_every_runtime_expectation_has_a_recorded_answer_and_different_failures(path):
    """A runtime expectation added without its mutation cases fails here."""
    listed = []
    for expected in runtime_expectations(path):
        for runtime in expected["cell"]["runtime"]:
            tests = [t for t, r in RECORDED if r.partition("=")[0] == runtime and _names(t, expected["test"])]
            assert tests, f"{path.name}: no recorded answer for {expected['test']} on {runtime}"
            listed += [(t, runtime) for t in tests]
    for test, runtime in listed:
        assert any(t == test and r.partition("=")[0] == runtime and cases for (t, r), cases in DIFFERENT.items()), (
            f"no different failure recorded for {(test, runtime)}"
        )


@pytest.mark.parametrize(("test", "runtime"), sorted(RECORDED), ids=lambda v: v)
def test_the_runtimes_own_answer_confirms_the_listed_finding(test, runtime):
    expected = expectation_for(DEFAULT, test, runtime)
    assert expected is not None, f"matrix/default.yaml (or nightly.yaml) lists nothing for {test} on {runtime}"
    for step, answer in RECORDED[(test, runtime)]:
        verdict = decide(failure(step, answer), expected=expected)
        assert verdict.outcome == "xfailed", (step, answer, verdict.reason)
        assert verdict.answer is not None and verdict.answer.text == answer


@pytest.mark.parametrize(("test", "runtime"), sorted(DIFFERENT), ids=lambda v: v)
def test_a_different_failure_of_the_same_test_is_not_the_listed_finding(test, runtime):
    expected = expectation_for(DEFAULT, test, runtime)
    assert expected is not None
    for step, answer in DIFFERENT[(test, runtime)]:
        verdict = decide(failure(step, answer), expected=expected)
        assert verdict.outcome == "failed", (step, answer, verdict.outcome)
    # The harness's own sentence, the listed words in it, confirms nothing: it carries no answer.
    worded = AssertionError(
        f"{expected['match']} {expected['reason']} poststart 'nosuid' 'nodev' left containers behind"
    )
    assert decide(worded, expected=expected).outcome == "failed"


def test_runc_tmpfs_mode_is_listed_for_the_versions_before_the_fix():
    expected = expectation_for(DEFAULT, "test_tmpfs_mount_with_options", "runc")
    assert expected is not None
    assert versions_match(expected["versions"], {"runc": "1.1.5+ds1"}) is True
    assert versions_match(expected["versions"], {"runc": "1.1.8"}) is False


def test_runc_domainname_finding_is_runc_1_1_only():
    expected = expectation_for(DEFAULT, "test_domainname", "runc")
    assert expected is not None
    assert versions_match(expected["versions"], {"runc@trixie": "1.1.15+ds1"}) is True
    assert versions_match(expected["versions"], {"runc@sid": "1.3.6"}) is False


def test_crun_refusing_newer_spec_releases_is_listed_for_crun_1_8_only():
    expected = expectation_for(DEFAULT, "test_runs_config_declared_as_1_3_0", "crun")
    assert expected is not None
    assert versions_match(expected["versions"], {"crun": "1.8.1"}) is True
    assert versions_match(expected["versions"], {"crun@trixie": "1.21"}) is False
    # The releases crun 1.8.1 runs are not listed: they would turn XPASS.
    for release in ("1_0_2", "1_1_0"):
        assert expectation_for(DEFAULT, f"test_runs_config_declared_as_{release}", "crun") is None


def test_runsc_version_is_its_release_date():
    assert version_number("runsc version 0.0~20240729.0") == "20240729.0"
    assert version_number("runsc version release-20221219.0") == "20221219.0"
    assert version_number("runc version 1.1.15+ds1") == "1.1.15+ds1"


def test_runtime_binaries_from_the_environment():
    assert binaries_from_env("runc=/opt/r/runc, crun=/x/crun") == {"runc": "/opt/r/runc", "crun": "/x/crun"}
    assert binaries_from_env("") == {}
    for bad in ("runc", "=/x", "runc="):
        with pytest.raises(UsageError, match=BINARIES_ENV):
            binaries_from_env(bad)


# --- a runtime that refuses create, through a wrapper standing in for runc ------------------------

REAL_RUNC = runtime_binary("runc")
WRAPPER_WORDS = "wrapper-runc: create refused on purpose (ocimatrix self-test)"
# A test of each kind: a lifecycle MUST, a property that was once skipped when refused, a cgroup limit,
# and one whose known incompatibility on runc must not be "confirmed" by a refusal.
REFUSED_TESTS = (
    "test_create_leaves_container_created",
    "test_sysctl_is_applied",
    "test_memory_limit",
    "test_classic_hooks_run_in_lifecycle_order",
)


@pytest.mark.skipif(
    os.geteuid() != 0 or REAL_RUNC is None or not shutil.which("busybox"),
    reason="needs root, runc and busybox (ocimatrix provision)",
)
def test_a_runtime_refusing_create_is_failed_with_its_words_and_leaves_nothing(tmp_path):
    calls = tmp_path / "calls"
    wrapper = tmp_path / "wrapper" / "runc"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'case " $* " in *" create "*) echo "{WRAPPER_WORDS}" >&2; exit 42;; esac\n'
        f'exec {REAL_RUNC} "$@"\n'
    )
    wrapper.chmod(0o755)
    # The default matrix's runtime expectations ride along: a refusal must confirm none of them.
    listed = [e for e in yaml.safe_load(DEFAULT.read_text())["expectations"] if set(e.get("cell") or {}) == {"runtime"}]
    axes = {"builder": ["buildah"], "engine": ["podman"], "runtime": ["runc"]}  # the runtime suite uses runtime alone
    matrix = {"axes": axes, "suites": {"runtime": {}}, "expectations": listed}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(matrix))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "ocimatrix.cli", "run", "--matrix", str(tmp_path / "m.yaml"), "--out", str(out)]
    argv += ["--no-provision", "--no-allure", "-n", "1", "--suite", "runtime", "-k", " or ".join(REFUSED_TESTS)]
    env = {**os.environ, BINARIES_ENV: f"runc={wrapper}"}
    before = set(Path("/var/tmp").glob("ocimatrix-runtime-*")) | set(
        Path("/var/tmp").glob("ocimatrix-*/ocimatrix-runtime-*")
    )
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout[-3000:] + done.stderr[-3000:]
    records = json.loads((out / "results.json").read_text())["results"]
    assert done.returncode == 1, output
    assert sorted(r["test"].split("::")[1].split("[")[0] for r in records) == sorted(REFUSED_TESTS), output
    for record in records:
        assert record["outcome"] == "failed", (record["test"], record["outcome"], record["reason"][:500])
        assert record["evidence"]["answer"] == {"step": "runc create", "text": f"exit 42: {WRAPPER_WORDS}"}
        assert record["evidence"]["versions"]["runc"], "the wrapper's --version (the real runc's) was recorded"
    assert " create " in f" {calls.read_text()} ", "the wrapper stood in for runc"
    # Nothing left: no process, mount or directory of the run's runtime workdir (runc's --root is in it).
    repro = "\n".join(line for record in records for line in record["repro"])
    # Under the run's state directory (a generation's root sees it at the same path), wherever that is.
    workdirs = {Path(found) for found in re.findall(r"(/\S*?ocimatrix-runtime-[^/\s]+)/bundles/", repro)}
    # However the repro spells them, any runtime workdir the run made is under /var/tmp or a state dir there.
    workdirs |= set(Path("/var/tmp").glob("ocimatrix-runtime-*")) - before
    workdirs |= set(Path("/var/tmp").glob("ocimatrix-*/ocimatrix-runtime-*")) - before
    assert workdirs or records, "the run made no runtime workdir and no record"
    for workdir in workdirs:
        assert not workdir.exists(), f"{workdir} outlived the run"
        assert not mounts_under(workdir), f"a mount under {workdir} outlived the run"
        assert not processes_mentioning(str(workdir)), f"a process of {workdir} outlived the run"
    assert not processes_mentioning(str(wrapper)), "a process started through the wrapper outlived the run"
    # The run's own services (started for every suite) are gone too.
    for state in {Path(found) for found in re.findall(r"(/var/tmp/ocimatrix-[A-Za-z0-9_]+)/", done.stderr)}:
        assert not state.exists() and not mounts_under(state) and not processes_mentioning(str(state)), state


def test_unknown_capability_is_listed_only_for_runtimes_declaring_a_spec_before_1_1_0():
    """runtime-spec 1.1.0 made an unmappable capability a warning: runc 1.1.15 (declares 1.2.0) and crun
    1.21 (1.1.0+dev) run it rightly, so the listing holds runc 1.1.5 and crun 1.8.1 only."""
    runc = _expectation_in(DEFAULT, "test_unknown_capability_is_an_error", "runc=1.1.5+ds1")
    crun = _expectation_in(DEFAULT, "test_unknown_capability_is_an_error", "crun=1.8.1")
    assert runc is not None and crun is not None
    assert _expectation_in(DEFAULT, "test_unknown_capability_is_an_error", "runc=1.1.15+ds1") is None
    assert _expectation_in(DEFAULT, "test_unknown_capability_is_an_error", "crun=1.21") is None
