"""The CRI container log parser, on lines shaped like those containerd 1.6 wrote in the live test."""

from pathlib import Path

import pytest

from ocimatrix.cri import logs
from ocimatrix.cri.logs import CriLogFormatError, parse_line, parse_log, parse_timestamp, read_log

# Recorded from containerd 1.6.20: a 20000-byte line split at 16 KiB, then output without a newline.
RECORDED = (
    "2026-11-22T10:58:32.733416164Z stdout P " + "a" * 16384 + "\n"
    "2026-11-22T10:58:32.733480805Z stdout F " + "a" * 3616 + "\n"
    "2026-11-22T10:58:32.733991553Z stdout P no-newline\n"
)


def test_partial_pieces_join_into_one_line():
    log = parse_log(RECORDED)
    assert [line.partial for line in log.lines] == [True, False, True]
    assert log.stdout == "a" * 20000 + "\n" + "no-newline"
    assert log.stderr == ""


def test_streams_are_kept_apart_and_in_order():
    log = parse_log(
        "2024-01-02T03:04:05.1Z stdout F one\n"
        "2024-01-02T03:04:05.2Z stderr F oops\n"
        "2024-01-02T03:04:05.3Z stdout F two\n"
    )
    assert log.stdout == "one\ntwo\n"
    assert log.stderr == "oops\n"
    assert log.text("stderr") == "oops\n"
    with pytest.raises(ValueError, match="unknown stream"):
        log.text("stdin")


def test_content_keeps_its_spaces():
    line = parse_line("2024-01-02T03:04:05Z stdout F  two  spaces ")
    assert line.content == " two  spaces "


@pytest.mark.parametrize("text", ["2024-01-02T03:04:05Z stdout F", "2024-01-02T03:04:05Z stdout F "])
def test_empty_full_line_with_or_without_trailing_space(text):
    line = parse_line(text)
    assert (line.content, line.partial) == ("", False)
    assert parse_log(text + "\n").stdout == "\n"


def test_timestamp_keeps_nanoseconds_and_offsets():
    assert parse_timestamp("1970-01-01T00:00:01.000000001Z") == 1_000_000_001
    assert parse_timestamp("1970-01-01T00:00:01Z") == 1_000_000_000
    assert parse_timestamp("1970-01-01T00:00:01.5Z") == 1_500_000_000
    # Go writes the runtime's local offset when it is not UTC.
    assert parse_timestamp("1970-01-01T02:00:01.25+02:00") == 1_250_000_000
    assert parse_line("2024-01-02T03:04:05.123456789+00:00 stderr F x").time_ns % 1_000_000_000 == 123456789


def test_tag_field_may_carry_more_tags():
    assert parse_line("2024-01-02T03:04:05Z stdout P:X piece").partial is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("garbage", "expected '<timestamp> <stream> <P|F> <content>'"),
        ("yesterday stdout F x", "not an RFC 3339 timestamp"),
        ("2024-01-02T03:04:05Z stdin F x", "neither stdout nor stderr"),
        ("2024-01-02T03:04:05Z stdout X x", "neither P (partial) nor F (full)"),
    ],
)
def test_malformed_lines_name_file_and_line(text, message):
    with pytest.raises(CriLogFormatError) as caught:
        parse_log("2024-01-02T03:04:05Z stdout F fine\n" + text + "\n", "pod/c/0.log")
    assert str(caught.value).startswith("pod/c/0.log:2: ")
    assert message in str(caught.value)


def test_read_log_file(tmp_path: Path):
    path = tmp_path / "0.log"
    path.write_bytes(b"2024-01-02T03:04:05Z stdout F caf\xc3\xa9 \xff\n")
    assert read_log(path).stdout == "caf\u00e9 \ufffd\n"  # undecodable bytes stay visible


def test_missing_log_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CriLogFormatError, match=r"cannot read container log .*nope\.log"):
        read_log(tmp_path / "nope.log")


def _cri_line(n: int) -> str:
    return f"2026-12-07T21:00:0{n % 10}.000000001Z stdout F line{n}\n"


def test_follower_reads_lines_as_written_and_across_a_rotation(tmp_path):
    path = tmp_path / "0.log"
    path.write_text(_cri_line(0) + "2026-12-07T21:00:01Z stdout F li")  # the second line is still being written
    follower = logs.LogFollower(path)
    assert [line.content for line in follower.poll()] == ["line0"]
    with path.open("a") as log:
        log.write("ne1\n")
    assert [line.content for line in follower.poll()] == ["line1"]
    # The kubelet's rotation: the file moved away, the runtime still writing to it until it reopens.
    rotated = tmp_path / "0.log.1"
    path.rename(rotated)
    with rotated.open("a") as log:
        log.write(_cri_line(2))
    assert [line.content for line in follower.poll()] == ["line2"]
    path.write_text(_cri_line(3))  # ReopenContainerLog: a new file at log_path
    assert follower.follow(lambda lines: lines[-1].content == "line3", timeout=1)
    assert [line.content for line in follower.lines] == ["line0", "line1", "line2", "line3"]
    assert (follower.files_followed, follower.lines_per_file) == (2, [3, 1])
    follower.close()


def test_follower_waits_for_a_file_not_there_yet(tmp_path):
    follower = logs.LogFollower(tmp_path / "0.log")
    assert follower.poll() == [] and not follower.follow(lambda lines: bool(lines), timeout=0.1)
    (tmp_path / "0.log").write_text("not a cri line\n")
    with pytest.raises(logs.CriLogFormatError) as caught:
        follower.poll()
    assert caught.value.answer == "not a cri line"
