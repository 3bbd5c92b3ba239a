"""oras: attaches an artifact to an image (``oras attach --artifact-type``) and lists what points at
an image (``oras discover``); for the artifacts checks it also pushes an artifact of its own making
(``oras push --artifact-type``) and attaches one, handing back the manifest it wrote (``--export-manifest``).

An attached artifact is a referrer; on a registry without the referrers API oras keeps the
referrers tag schema's index. The artifact type names the attaching tool's generation, so the
attachments of two oras versions to one image stay two manifests (the same payload and type would
give the same digest).
"""

from __future__ import annotations

import json
import secrets

from ocimatrix.engines.signing import (
    KEEPS_REFERRERS,
    REFERRER,
    Attacher,
    CopyWay,
    Exported,
    Keyring,
    ReadBack,
    SignedCopier,
    Written,
    words,
)
from ocimatrix.errors import EngineError

PAYLOAD = "attached.json"
PAYLOAD_TYPE = "application/json"


class OrasAttacher(Attacher, SignedCopier):
    name = "oras"
    family = "oras"
    verifies = False
    # ``oras cp -r``: "recursively copy the artifact and its referrer artifacts" (its help).
    copy_ways = (CopyWay("recursive", "oras cp -r", KEEPS_REFERRERS),)

    @property
    def artifact_type(self) -> str:
        return f"application/vnd.ocimatrix.attached.{self.generation}.v1+json"

    def prepare(self, keys: Keyring) -> None:
        super().prepare(keys)
        payload = keys.path(PAYLOAD)
        if not payload.exists():
            payload.write_text(json.dumps({"attached_by": "ocimatrix"}))

    def write(self, ref: str, keys: Keyring) -> Written:
        argv = ["attach", "--plain-http", "--disable-path-validation", "--artifact-type", self.artifact_type]
        argv += ["--format", "json", ref, f"{keys.path(PAYLOAD)}:{PAYLOAD_TYPE}"]
        result = self.run(argv, keys, "oras attach")
        return Written(self.label, self.family, REFERRER, self.artifact_type, words(result))

    def _exported(self, argv: list[str], keys: Keyring, what: str, files: list[str]) -> Exported:
        """Run ``oras <argv>`` writing the manifest it pushes to a file of its own, and read it back."""
        path = keys.path(f"exported-{self.generation}-{secrets.token_hex(6)}.json")
        result = self.run([*argv, "--export-manifest", str(path), *files], keys, what)
        try:
            return Exported(path.read_bytes(), words(result))
        except OSError as exc:
            raise EngineError(
                f"{what} exited 0 but left no manifest at --export-manifest ({exc.strerror})",
                step=what,
                answer=words(result),
            ) from None
        finally:
            path.unlink(missing_ok=True)

    def push_artifact(self, ref: str, keys: Keyring, artifact_type: str, *, with_file: bool = True) -> Exported:
        """``oras push --artifact-type``: an image-spec v1.1 artifact (oras's default manifest), with the
        payload as its one layer, or with no file at all."""
        files = [f"{keys.path(PAYLOAD)}:{PAYLOAD_TYPE}"] if with_file else []
        argv = ["push", "--plain-http", "--disable-path-validation", "--artifact-type", artifact_type, ref]
        return self._exported(argv, keys, "oras push", files)

    def attach_artifact(self, ref: str, keys: Keyring, artifact_type: str) -> Exported:
        """``oras attach --artifact-type``: an artifact whose ``subject`` is ``ref``, as oras writes it."""
        argv = ["attach", "--plain-http", "--disable-path-validation", "--artifact-type", artifact_type, ref]
        return self._exported(argv, keys, "oras attach", [f"{keys.path(PAYLOAD)}:{PAYLOAD_TYPE}"])

    def copy_signed(self, way: CopyWay, source: str, dest: str, keys: Keyring) -> str:
        argv = ["cp", "--recursive", "--from-plain-http", "--to-plain-http", source, dest]
        return words(self.run(argv, keys, way.command))

    def read(self, ref: str, keys: Keyring, written: Written) -> ReadBack:
        result = self.run(["discover", "--plain-http", "--format", "json", ref], keys, "oras discover", check=False)
        answer = f"exit {result.returncode}: {words(result)}"
        if result.returncode != 0:
            return ReadBack(self.label, False, answer, step="oras discover")
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise EngineError(f"oras discover printed no JSON: {exc}", step="oras discover", answer=answer) from None
        # oras 1.2 lists direct referrers under "manifests"; 1.3 under "referrers" (each may nest its own).
        entries = document.get("referrers", document.get("manifests")) or []
        listed = [entry.get("digest", "") for entry in entries if isinstance(entry, dict)]
        return ReadBack(self.label, bool(listed), answer, listed, step="oras discover")
