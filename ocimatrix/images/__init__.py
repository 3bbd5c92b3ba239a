"""Images the harness makes itself: FROM scratch, with Debian's static busybox, never pulled from outside."""
