"""What an engine's store already holds: another platform of the same index, an older image under the
same tag, a tag pointing elsewhere than the digest asked for.

Each probe prints ``uname -m`` and the marker baked into its image, so every run says which image ran;
the engine's own account of the reference (the config's os/architecture) is kept beside it. The
image index says how a platform is chosen: the entry matching the platform asked for, or the runtime's
own when none is asked. Running another one is ``failed``; an engine that refuses instead, saying why,
passes with its words recorded. A tag resolves to the manifest it names at pull time, and a digest to
exactly that content.
"""

from __future__ import annotations

import pytest

from ocimatrix.errors import fail_with
from ocimatrix.host import platforms as host_platforms
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.specs import spec

AXES = ("engine", "runtime")


def machines_of(platform: str) -> set[str]:
    """What ``uname -m`` prints in a container of ``platform`` on this host, natively or emulated."""
    mode = host_platforms.NATIVE if platform == host_platform_name() else host_platforms.EMULATED
    return host_platforms.expected_machines(platform, mode)


def judge_platform(ran, expected: str, pulled: str, step: str, recorder, config_platform: str) -> None:
    """Passed when ``expected``'s image ran or the engine refused in words; failed otherwise."""
    __tracebackhide__ = True
    recorder.add("config_platform", config_platform or "(the engine doesn't say)")
    if ran.refusal:
        recorder.add("refused", ran.refusal)
        return
    machines = machines_of(expected)
    recorder.add("ran", {"machine": ran.machine, "marker": ran.marker, "expected_machine": sorted(machines)})
    if ran.machine in machines and expected in ran.marker:
        return
    fail_with(
        f"asked for {ran.asked or 'no platform'} on a {host_platform_name()} host with only {pulled} pulled, "
        f"the engine ran {ran.marker or 'an image that printed nothing'} (uname -m {ran.machine or '(none)'}, "
        f"config {config_platform or 'not reported'}) instead of {expected}'s image or a refusal",
        step=step,
        answer=ran.answer(),
    )


@pytest.mark.axes(*AXES)
@spec("image-spec/image-index.md#image-index-property-descriptions", "platform: the entry asked for is the one run")
def test_run_asking_another_platform_than_pulled(
    runner, pushed, store_tag, store_runner, foreign_platform, recorder
) -> None:
    host = host_platform_name()
    index = pushed.index(store_tag("other-platform"), (host, foreign_platform), "index")
    recorder.add("index", {"ref": index.ref, "digest": index.digest, "manifests": index.manifests})
    store_runner.pull(index.ref, foreign_platform)
    ran = store_runner.run(index.ref, host)
    config = store_runner.config_platform(index.ref, foreign_platform)
    judge_platform(ran, host, foreign_platform, f"{runner.name} run --platform {host} --pull never", recorder, config)


@pytest.mark.axes(*AXES)
@spec("image-spec/image-index.md#image-index-property-descriptions", "platform: with none asked, the host's")
def test_run_with_no_platform_after_pulling_another(
    runner, pushed, store_tag, store_runner, foreign_platform, recorder
) -> None:
    host = host_platform_name()
    index = pushed.index(store_tag("no-platform"), (host, foreign_platform), "index")
    recorder.add("index", {"ref": index.ref, "digest": index.digest, "manifests": index.manifests})
    store_runner.pull(index.ref, foreign_platform)
    ran = store_runner.run(index.ref)
    config = store_runner.config_platform(index.ref, foreign_platform)
    judge_platform(ran, host, foreign_platform, f"{runner.name} run --pull never (no platform)", recorder, config)


@pytest.mark.axes(*AXES)
@spec("distribution-spec/spec.md#pulling-manifests", "a tag names the manifest the registry holds for it now")
def test_retagged_reference_runs_the_newer_image(runner, pushed, store_tag, store_runner, recorder) -> None:
    tag = store_tag("retag")
    older = pushed.image(tag, "older")
    store_runner.pull(older.ref)
    first = store_runner.run(older.ref)
    newer = pushed.image(tag, "newer")
    recorder.add("tag", {"ref": older.ref, "older": older.digest, "newer": newer.digest})
    store_runner.pull(newer.ref)
    second = store_runner.run(newer.ref)
    if first.refusal or second.refusal:
        fail_with(
            f"{runner.name} refused to run a pulled image",
            step=first.step or second.step,
            answer=first.refusal or second.refusal,
        )
    if "older" not in first.marker:
        fail_with(
            f"the first pull of {older.ref} ran {first.marker or 'nothing'}, not the older image",
            step=f"{runner.name} run (after the first pull)",
            answer=first.answer(),
        )
    if "newer" not in second.marker:
        fail_with(
            f"{older.ref} was moved to {newer.digest} and pulled again, but {runner.name} still ran "
            f"{second.marker or 'nothing'} instead of the newer image",
            step=f"{runner.name} run (after the tag moved and the second pull)",
            answer=second.answer(),
        )


@pytest.mark.axes(*AXES)
@spec("image-spec/descriptor.md#digests", "a digest names exactly that content, whatever the tag says")
def test_pull_by_digest_while_the_tag_points_elsewhere(runner, pushed, store_tag, store_runner, recorder) -> None:
    tag = store_tag("by-digest")
    older = pushed.image(tag, "older")
    newer = pushed.image(tag, "newer")
    by_digest = older.ref.rsplit(":", 1)[0] + "@" + older.digest
    recorder.add("refs", {"tag": newer.ref, "tag_digest": newer.digest, "by_digest": by_digest})
    store_runner.pull(newer.ref)
    store_runner.pull(by_digest)
    pinned = store_runner.run(by_digest)
    tagged = store_runner.run(newer.ref)
    for ran, ref, want in ((pinned, by_digest, "older"), (tagged, newer.ref, "newer")):
        if ran.refusal:
            fail_with(f"{runner.name} refused to run {ref}, which it pulled", step=ran.step, answer=ran.refusal)
        if want not in ran.marker:
            fail_with(
                f"{runner.name} ran {ran.marker or 'nothing'} for {ref}; that reference names the {want} image",
                step=f"{runner.name} run {ref}",
                answer=ran.answer(),
            )
