"""One check's world: a client for the target, fresh repositories, and cleanup of what it pushed.

Repository names are unique per run, per xdist worker and per check
(``<namespace>/dist/<run>-<label>-<random>``), so parallel workers never collide. What a check
pushes or starts (uploads, manifests, blobs) is deleted at the end where the registry allows it.
The helpers here are the *setup* half of checks (push an image to pull it, etc.): their failures
say "setup" so a vendor knows the push path broke, not the feature under test.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import DistributionClient
from ocimatrix.distribution.content import MANIFEST_ACCEPT, OCTET_STREAM, Blob, Manifest, make_image
from ocimatrix.registries import RegistryTarget

_UNSAFE = re.compile(r"[^a-z0-9]+")
_CONTENT_PATH = re.compile(r"^/v2/(?P<repo>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")


def safe_component(text: str) -> str:
    """``text`` as one repository path component (lowercase alphanumerics joined by '-')."""
    return _UNSAFE.sub("-", text.lower()).strip("-") or "x"


@dataclass
class Cleanup:
    uploads: list[str] = field(default_factory=list)  # open upload locations
    manifests: list[tuple[str, str]] = field(default_factory=list)  # (repo, digest)
    blobs: list[tuple[str, str]] = field(default_factory=list)


class DistContext:
    def __init__(self, target: RegistryTarget, run_token: str = "local", timeout: float | None = None) -> None:
        self.target = target
        self.run_token = safe_component(run_token)
        self.client = DistributionClient(target, timeout)
        self.cleanup = Cleanup()

    # --- names ---------------------------------------------------------------------------------

    def new_repo(self, label: str = "repo") -> str:
        return f"{self.target.namespace}/dist/{self.run_token}-{safe_component(label)}-{secrets.token_hex(3)}"

    # --- requests ------------------------------------------------------------------------------

    def request(self, method: str, path_or_url: str, *, what: str, **kwargs) -> httpx.Response:
        response = self.client.request(method, path_or_url, what=what, **kwargs)
        self._track_upload(method, response)
        return response

    def _track_upload(self, method: str, response: httpx.Response) -> None:
        """Keep the cleanup lists current: the latest URL of each open upload, what is still stored."""
        path = urlsplit(str(response.request.url)).path
        status = response.status_code
        if "/blobs/uploads/" in path:
            location = response.headers.get("Location")
            if method in ("POST", "PATCH") and status == 202 and location:
                url = self.client.url(location)
                self.upload_done(url)  # a PATCH answers a new URL for the same session: keep only that
                self.cleanup.uploads.append(url)
            elif (method == "PUT" and status == 201) or (method == "DELETE" and status < 300):
                self.upload_done(str(response.request.url))
        elif method == "DELETE" and status == 202:
            match = _CONTENT_PATH.match(path)
            if match:
                kind = self.cleanup.manifests if match["kind"] == "manifests" else self.cleanup.blobs
                while (match["repo"], match["ref"]) in kind:
                    kind.remove((match["repo"], match["ref"]))

    def get_manifest(self, repo: str, reference: str, what: str, method: str = "GET") -> httpx.Response:
        return self.request(method, f"/v2/{repo}/manifests/{reference}", what=what, headers={"Accept": MANIFEST_ACCEPT})

    def start_upload(
        self, repo: str, what: str, query: dict[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": OCTET_STREAM} if content else {"Content-Length": "0"}
        return self.request(
            "POST", f"/v2/{repo}/blobs/uploads/", what=what, query=query, headers=headers, content=content or None
        )

    def upload_location(self, response: httpx.Response, what: str) -> str:
        """The absolute upload URL a POST/PATCH answered with (202 + Location are MUSTs)."""
        expect.status(response, 202, what, "an upload session starts with 202 Accepted")
        location = expect.header(response, "Location", what, "the upload session URL is a MUST")
        return self.client.url(location)

    def upload_done(self, location: str) -> None:
        """Forget every URL of this upload session (each PATCH may have answered a new one)."""
        path = urlsplit(location).path
        self.cleanup.uploads = [url for url in self.cleanup.uploads if urlsplit(url).path != path]

    # --- setup helpers (the push path, used to get content to test against) ---------------------

    def push_blob(self, repo: str, blob: Blob, what: str = "setup: pushing a blob") -> None:
        """POST then PUT ?digest= (the one upload every registry must support)."""
        location = self.upload_location(self.start_upload(repo, what), what)
        response = self.request(
            "PUT",
            location,
            what=what,
            query={"digest": blob.digest},
            headers={"Content-Type": OCTET_STREAM},
            content=blob.data,
        )
        expect.status(response, 201, what, "a completed upload answers 201 Created")
        self.cleanup.blobs.append((repo, blob.digest))

    def push_manifest(
        self,
        repo: str,
        reference: str,
        manifest: Manifest,
        what: str = "setup: pushing a manifest",
        requirement: str = "a stored manifest answers 201 Created",
    ) -> httpx.Response:
        response = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            what=what,
            headers={"Content-Type": manifest.media_type},
            content=manifest.body,
        )
        expect.status(response, 201, what, requirement)
        self.cleanup.manifests.append((repo, manifest.digest))
        return response

    def push_image(
        self,
        repo: str,
        tag: str = "latest",
        manifest: Manifest | None = None,
        what: str = "setup: pushing the test image",
    ) -> Manifest:
        manifest = manifest or make_image(repo)
        for blob in manifest.blobs:
            self.push_blob(repo, blob, what)
        self.push_manifest(repo, tag, manifest, what)
        return manifest

    # --- teardown ------------------------------------------------------------------------------

    def close(self) -> dict[str, int]:
        """Delete what the check left behind; never raises (a registry may forbid deletion)."""
        done = {"uploads_cancelled": 0, "manifests_deleted": 0, "blobs_deleted": 0, "not_deleted": 0}
        for url in self.cleanup.uploads:
            done["uploads_cancelled" if self._cancel_upload(url) else "not_deleted"] += 1
        for key, kind, items in (
            ("manifests_deleted", "manifests", self.cleanup.manifests),
            ("blobs_deleted", "blobs", self.cleanup.blobs),
        ):
            for repo, digest in dict.fromkeys(items):
                response = self._quiet("DELETE", f"/v2/{repo}/{kind}/{digest}")
                ok = response is not None and response.status_code in (200, 202, 204)
                done[key if ok else "not_deleted"] += 1
        self.cleanup = Cleanup()
        self.client.close()
        return done

    def _quiet(self, method: str, url: str) -> httpx.Response | None:
        """A cleanup request: not recorded as repro, never raises."""
        try:
            return self.client.http.request(method, self.client.url(url))
        except Exception:  # noqa: BLE001 - cleanup is best effort, whatever the registry does
            return None

    def _cancel_upload(self, url: str) -> bool:
        response = self._quiet("DELETE", url)
        if response is not None and response.status_code in (200, 202, 204):
            return True
        # The URL's state may be stale (a failed PUT still wrote bytes): ask for the current one.
        status = self._quiet("GET", url)
        location = status.headers.get("Location") if status is not None and status.status_code == 204 else None
        response = self._quiet("DELETE", location) if location else None
        return response is not None and response.status_code in (200, 202, 204)
