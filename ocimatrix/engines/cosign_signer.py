"""cosign: signs an image with a local key pair and verifies signatures, with no transparency log.

cosign 2.x writes its signature under the tag ``<alg>-<hex>.sig`` (no ``subject``: not a referrer);
cosign 3.x writes a sigstore bundle as a referrer (``artifactType`` the bundle's media type), and its
default signing config would reach for Fulcio and Rekor, so it is told to use none
(``--use-signing-config=false``). Verification ignores the transparency log and reads the format the
writer wrote (``--new-bundle-format``), which is how a user who knows it would ask.
"""

from __future__ import annotations

from pathlib import Path

from ocimatrix.engines.signing import (
    KEEPS_SIGNATURES,
    REFERRER,
    SIGNATURE_TAG,
    CopyWay,
    Keyring,
    ReadBack,
    SignedCopier,
    Signer,
    Written,
    words,
)

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
REGISTRY_FLAGS = ["--allow-insecure-registry", "--allow-http-registry"]


class CosignSigner(Signer, SignedCopier):
    name = "cosign"
    family = "cosign"
    # ``cosign copy``: "the supplied container image and signatures" (its help), so cosign's own.
    copy_ways = (CopyWay("copy", "cosign copy", KEEPS_SIGNATURES, (family,)),)

    def environment(self, keys: Keyring) -> dict[str, str]:
        # An empty password for the generated key; TUF and sigstore caches in the worker's own empty
        # directory, so no cached trust root of the machine is read and nothing is written outside.
        return {"COSIGN_PASSWORD": "", "TUF_ROOT": str(keys.path("tuf")), "SIGSTORE_NO_CACHE": "true"}

    def prepare(self, keys: Keyring) -> None:
        super().prepare(keys)
        if not keys.path("cosign.key").exists():
            prefix = str(keys.path("cosign"))
            self.run(["generate-key-pair", "--output-key-prefix", prefix], keys, "cosign generate-key-pair")

    def writes_bundle(self) -> bool:
        return self.major() >= 3

    def write(self, ref: str, keys: Keyring) -> Written:
        argv = ["sign", "--key", str(keys.path("cosign.key")), "--tlog-upload=false", "-y", *REGISTRY_FLAGS]
        if self.writes_bundle():
            argv.append("--use-signing-config=false")
        result = self.run([*argv, ref], keys, "cosign sign")
        if self.writes_bundle():
            return Written(self.label, self.family, REFERRER, BUNDLE_TYPE, words(result))
        return Written(self.label, self.family, SIGNATURE_TAG, "", words(result))

    def copy_signed(self, way: CopyWay, source: str, dest: str, keys: Keyring) -> str:
        return words(self.run(["copy", *REGISTRY_FLAGS, source, dest], keys, way.command))

    def read(self, ref: str, keys: Keyring, written: Written) -> ReadBack:
        bundle = "true" if written.how == REFERRER else "false"
        argv = ["verify", "--key", str(keys.path("cosign.pub")), "--insecure-ignore-tlog=true", *REGISTRY_FLAGS]
        result = self.run([*argv, f"--new-bundle-format={bundle}", ref], keys, "cosign verify", check=False)
        step = f"cosign verify --new-bundle-format={bundle}"
        return ReadBack(self.label, result.returncode == 0, f"exit {result.returncode}: {words(result)}", step=step)

    def verify_with(self, ref: str, material: Path, keys: Keyring) -> ReadBack:
        """``cosign verify --key`` with the given public key, no transparency log: first the signature tag
        (cosign 2's format), then the bundle referrer (cosign 3's), since the signer's version is unknown.
        Verified when either answer is yes; both answers are kept."""
        keys.path("home").mkdir(parents=True, exist_ok=True)
        answers = []
        for bundle in ("false", "true"):
            step = f"cosign verify --key {material.name} --new-bundle-format={bundle}"
            argv = ["verify", "--key", str(material), "--insecure-ignore-tlog=true", *REGISTRY_FLAGS]
            result = self.run([*argv, f"--new-bundle-format={bundle}", ref], keys, "cosign verify", check=False)
            answers.append(f"{step}: exit {result.returncode}: {words(result)}")
            if result.returncode == 0:
                return ReadBack(self.label, True, answers[-1], step=step)
        return ReadBack(self.label, False, "\n".join(answers), step=f"cosign verify --key {material.name}")
